"""What a check is (a grade_id with points, and a judge that decides it outside the kernel) and
what an example submission is (answers, and the points each check deserves)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Check:
    """One graded behaviour of one notebook.

    ``judge(kernel, seed)`` runs in the grader's process: it probes the student's kernel
    (``autograde.grading.judge.Kernel``) on inputs it draws from ``seed`` and raises
    ``gdkit.checks._common.CheckFailed`` with the student's message when the values are wrong.
    ``visible``: the notebook's test cell also lets the student run a visible part of it.
    ``judged_after``: the grade_id of a given (read-only) cell right after which the judge runs,
    instead of at the test cell: it then reads what that given code produced (e.g. the weights
    the given training loop trained), before any later cell of the student can replace them.
    ``follows``: for an end-to-end check, the unit checks it depends on; when it fails after one of
    them failed, its message says that it follows from that one.
    """

    grade_id: str
    notebook: str
    points: int
    description: str
    judge: Callable
    visible: bool = True
    judged_after: str | None = None
    follows: tuple[str, ...] = ()


@dataclass(frozen=True)
class Example:
    """A submission of ``notebook``: answers replaced per answer grade_id (or cell id for cells
    that nbgrader does not track), points deserved per check."""

    name: str
    notebook: str
    points: dict[str, int]
    answers: dict[str, str] = field(default_factory=dict)
    solved: bool = True  # False: the untouched release
