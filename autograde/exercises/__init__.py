"""The exercises the grader knows: one folder each, listed here one line each.

An exercise folder holds everything about one notebook: its checks (``checks.py``: each a
judge that probes the kernel and decides in the grader), its reference code
(``reference.py``), its example submissions with the points each deserves (``examples.py``)
and its calibration. Its ``__init__`` names ``NOTEBOOK`` and ``CHECKS``. The engine reads this
list and never names an exercise itself.

``GD_GRADING_EXERCISES`` (comma-separated module names) adds exercises kept elsewhere.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from autograde import settings

EXERCISES = (
    "autograde.exercises.linear_system",
    "autograde.exercises.mnist_mlp",
    "autograde.exercises.logistic_regression",
)


def load() -> list[ModuleType]:
    """Every exercise module, in order: the built-in ones, then those of ``GD_GRADING_EXERCISES``."""
    return [importlib.import_module(name) for name in (*EXERCISES, *settings.current().exercises)]
