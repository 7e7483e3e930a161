"""The pytest front end: ``python -m pytest autograde --submission DIR`` (``plugin``, loaded by
``autograde/conftest.py``), and ``student_run``, which grades one student that way in a process of
its own under ``grader_process``'s limits."""
