"""The ways a submission is graded, all through the same session and judge: ``pytest`` (the hidden
pytest graders, and one student graded in a process of its own), ``nbgrader`` (the course's
``nbgrader autograde``) and ``gradescope`` (its autograder container)."""
