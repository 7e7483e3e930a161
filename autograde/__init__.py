"""Hidden graders of the gradient-descent assignment (instructor side, never released).

``registry`` lists every check with its points; ``kernel`` runs checks inside a
student's kernel; ``runner`` executes a submission; the pytest front end lives in
``conftest.py`` and ``test_checks.py``.
"""
