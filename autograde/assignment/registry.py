"""Every graded check of the assignment, assembled from the exercise folders.

This is the one source of truth for grade_ids, points and judges: both front ends look a
test cell's grade_id up here and call the same ``judge`` (``autograde.grading.judge``).
``tests/assignment/test_registry.py`` proves the notebooks' test cells match this table.
"""

from __future__ import annotations

from pathlib import Path

from autograde import exercises, settings
from autograde.assignment.check import Check

ASSIGNMENT = "gd_applications"
_PACKAGE = Path(__file__).resolve().parents[1]
_CHECKOUT = _PACKAGE.parent
#: The course the graders read: the repository in a checkout (or an editable install), else the copy
#: an installed package carries in ``autograde/course`` (setup.py).
ROOT = _CHECKOUT if (_CHECKOUT / "source" / ASSIGNMENT).is_dir() else _PACKAGE / "course"
SOURCE = ROOT / "source" / ASSIGNMENT

_EXERCISES = exercises.load()

CHECKS: tuple[Check, ...] = tuple(c for ex in _EXERCISES for c in ex.CHECKS)
BY_ID: dict[str, Check] = {c.grade_id: c for c in CHECKS}
NOTEBOOKS: tuple[str, ...] = tuple(ex.NOTEBOOK for ex in _EXERCISES)
#: The source (solution) notebook of each exercise: its test and given cells are what grading restores.
SOURCES: dict[str, Path] = {ex.NOTEBOOK: Path(getattr(ex, "SOURCE", SOURCE / f"{ex.NOTEBOOK}.ipynb"))
                            for ex in _EXERCISES}

if len(BY_ID) != len(CHECKS):
    raise ValueError("two exercises register the same grade_id")


def data_paths() -> list[Path]:
    """Data files and folders the exercises' notebooks read (``DATA_PATHS()`` of an exercise):
    a sandboxed kernel sees them read-only."""
    return list(dict.fromkeys(Path(p) for ex in _EXERCISES for p in getattr(ex, "DATA_PATHS", list)()))


def data_hidden() -> list[Path]:
    """Data files and folders no kernel may read, even inside a folder it sees (``DATA_HIDDEN()`` of
    an exercise: where the grader's held-out images are, and what they are taken from)."""
    return list(dict.fromkeys(Path(p) for ex in _EXERCISES for p in getattr(ex, "DATA_HIDDEN", list)()))


def warm_up() -> str:
    """Code a kernel started ahead runs before its notebook (``WARM_UP`` of an exercise: imports)."""
    lines = [line for ex in _EXERCISES for line in getattr(ex, "WARM_UP", "").splitlines()]
    return "\n".join(dict.fromkeys(line for line in lines if line.strip()))


def data_env() -> dict[str, str]:
    """Environment a grading kernel gets for the exercises' data (``DATA_ENV()`` of an exercise)."""
    return {k: v for ex in _EXERCISES for k, v in getattr(ex, "DATA_ENV", dict)().items()}


def checks_of(notebook: str) -> list[Check]:
    return [c for c in CHECKS if c.notebook == notebook]


def course_view() -> settings.CourseView:
    """What the course asks of a grading kernel (``settings.CourseView``), from the exercises."""
    return settings.CourseView(roots=(ROOT,), read_only=tuple(data_paths()), hidden=tuple(data_hidden()),
                               env=data_env(), warm_up=warm_up())


settings.provide_course(course_view)
