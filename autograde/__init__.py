"""Hidden graders of the gradient-descent assignment (instructor side, never released).

Layers, lowest first; each imports only those below it (``tests/project/test_architecture.py``):

- ``settings``, ``limits``: the engine's settings (one object) and the grading contract's limits;
- ``kernel/``: where a student's code runs, and what it may see (sandbox, user, limits, forked kernels);
- ``assignment/`` and ``exercises/``: the checks, one folder per exercise, and how a check probes a kernel;
- ``grading/``: running a notebook and judging each check outside the kernel;
- ``reports/``: summaries, Gradescope's results, the class's CSVs;
- ``frontends/``: pytest (``conftest.py``, ``test_checks.py``), nbgrader and Gradescope, one judge for all;
- ``classroom/``: grading a whole class (``gdgrade``);
- ``demo/``: the example class and ``make main``.

docs/design/architecture.md says more.
"""


import sys

# nbformat validates notebooks with jsonschema, which imports ``rfc3987_syntax`` when it is
# installed (jupyter-events pulls it in) only to check the JSON-schema format "iri"; that module
# builds a grammar on import, 1.2 s of every grading process here (python -X importtime -c
# "import jsonschema"). No schema the graders use has an "iri" format: they do without it.
sys.modules.setdefault("rfc3987_syntax", None)
