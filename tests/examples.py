"""The example submissions and class, for the tests: assembled by ``autograde.demo.examples`` from the
exercise folders (``autograde/exercises/*/examples.py``)."""

from __future__ import annotations

from autograde.assignment.check import Example
from autograde.demo.examples import (
    CLASS,
    EXAMPLES,
    NOTEBOOK_ORDER,
    OUT,
    ROOT,
    build,
    class_examples,
    class_files,
    class_points,
    example,
    path_of,
    solution_sources,
    write_all,
)
from autograde.exercises.linear_system.examples import FULL as LS_FULL
from autograde.exercises.logistic_regression.examples import FULL as LR_FULL
from autograde.exercises.mnist_mlp.examples import FULL as MLP_FULL

__all__ = ["CLASS", "EXAMPLES", "LR_FULL", "LS_FULL", "MLP_FULL", "NOTEBOOK_ORDER", "OUT", "ROOT", "Example",
           "build", "class_examples", "class_files", "class_points", "example", "path_of", "solution_sources",
           "write_all"]
