"""The assignment: what is graded and how a check speaks to a kernel. ``registry`` assembles every
``Check`` from the exercise folders (``autograde/exercises``); ``probe`` is the kernel as a check sees
it, ``returned`` validates what it hands back, ``diagnose`` names causes; ``notebook`` and
``submission`` read cells and submitted files. It never imports the kernel layer."""
