"""``python -m autograde.frontends.nbgrader.cli ARGS``: nbgrader's own command line, ``nbgrader ARGS``.

The same application (``nbgrader.apps.nbgraderapp.main``), the same configuration and
results; it starts 1.5 s sooner because the ``autograde`` package is imported first (as the
parent of this module), which keeps jsonschema from building a grammar nbgrader never uses
(``autograde/__init__.py``): importing ``nbgrader.apps`` takes 1.3 s instead of 2.8 s here
(``python -X importtime -c "import nbgrader.apps"``). The course's tools
(``autograde.frontends.nbgrader.course``, ``make main``, ``make release``, the benches) run nbgrader this way.
"""

from __future__ import annotations


def main() -> None:
    from nbgrader.apps.nbgraderapp import main as nbgrader_main

    nbgrader_main()


if __name__ == "__main__":
    main()
