"""The kernel layer: a student's notebook runs here, in a kernel that sees only what
``contract`` says (sandbox: ``sandbox``, ``confine``; a uid of its own: ``user``; memory and tasks:
``cgroup``, ``limited``), started cold by ``manager`` or forked by ``forked``, ahead of time by
``pool``. It imports no exercise: what the course asks of a kernel comes with the settings
(``autograde.settings.CourseView``)."""
