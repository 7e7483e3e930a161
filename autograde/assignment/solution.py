"""The grader's own run of an exercise's solution, as a check asks for it.

A check whose threshold follows the solution (an accuracy the lesson's own code reaches on the
grader's data) asks ``values``; the grading layer answers (``autograde.grading.reference_run``
registers itself with ``provide``), so that no exercise imports the engine that grades it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_run: Callable[..., dict[str, np.ndarray]] | None = None


def provide(run: Callable[..., dict[str, np.ndarray]]) -> None:
    """Called by the grading layer: how the solution is run (``reference_run.source_values``)."""
    global _run
    _run = run


def values(notebook: str, target: str, needs: tuple[str, ...], key: str, expect: dict) -> dict[str, np.ndarray]:
    """Probe ``target`` on ``needs`` after the solution of ``notebook`` ran in a grading kernel (cached
    per ``key``); its values as ``expect`` declares them (``autograde.assignment.returned.Value``)."""
    if _run is None:
        raise RuntimeError("no reference run: the solution's values come from the grading layer. "
                           "Fix: import autograde.grading.reference_run before judging.")
    return _run(notebook, target, needs, key=key, expect=expect)
