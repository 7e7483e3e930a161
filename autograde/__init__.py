"""Hidden graders of the gradient-descent assignment (instructor side, never released).

``registry`` lists every check with its points; ``judge`` decides each check outside the
student's kernel; ``runner`` executes a submission; the pytest front end lives in
``conftest.py`` and ``test_checks.py``, nbgrader's in ``nbgrader_execute.py``.
"""

import sys

# nbformat validates notebooks with jsonschema, which imports ``rfc3987_syntax`` when it is
# installed (jupyter-events pulls it in) only to check the JSON-schema format "iri"; that module
# builds a grammar on import, 1.2 s of every grading process here (python -X importtime -c
# "import jsonschema"). No schema the graders use has an "iri" format: they do without it.
sys.modules.setdefault("rfc3987_syntax", None)
