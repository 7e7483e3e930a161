"""A time budget per submission: every notebook of one student's submission draws on one deadline.

Both front ends give each grading session the ``Budget`` of its submission: the pytest graders
one per run (a run grades one submission), nbgrader one per submission folder
(``autograded/<student>/<assignment>``), shared by the notebooks it executes in the background. A
notebook's own limit still holds; the budget only ever shortens it, and a notebook that would
start with nothing left is not run.
"""

from __future__ import annotations

import threading
import time

from autograde import limits


class Budget:
    """``seconds`` of wall time from now, for the notebooks of one submission."""

    def __init__(self, seconds: float = limits.SUBMISSION_TIMEOUT):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def spent(self) -> str:
        """What a check says when the budget ended its notebook (or kept it from starting)."""
        return f"the submission used up its time budget of {self.seconds:g} s"


_budgets: dict[str, Budget] = {}
_lock = threading.Lock()


def of_submission(key: str, seconds: float = limits.SUBMISSION_TIMEOUT) -> Budget:
    """The budget of the submission ``key`` (made at its first notebook); the others are dropped."""
    with _lock:
        if key not in _budgets:
            _budgets.clear()  # nbgrader grades one submission at a time: an earlier one is done
            _budgets[key] = Budget(seconds)
        return _budgets[key]
