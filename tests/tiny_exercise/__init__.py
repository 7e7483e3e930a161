"""A throwaway exercise kept in tests/: proves that adding an exercise never touches the engine.

Notebook ``99_double`` asks for ``double(x)``; its one check probes it on the grader's own
random arrays through the generic ``gdkit.probe:call`` and compares with ``2 * x`` here.
``GD_GRADING_EXERCISES=tests.tiny_exercise`` adds it to the registry.
"""

from pathlib import Path

import numpy as np

from autograde.assignment.check import Check
from autograde.assignment.returned import Value
from gdkit.checks._common import CheckFailed

NOTEBOOK = "99_double"
SOURCE = Path(__file__).with_name(f"{NOTEBOOK}.ipynb")


def doubles(kernel, seed: int) -> None:
    x = np.random.default_rng(seed).normal(size=5)
    got = kernel.call("gdkit.probe:call", ("double",), {"out": Value(x.shape)}, a0=x)["out"]
    if not np.allclose(got, 2 * x):
        raise CheckFailed(f"double({np.round(x, 3)}) should be {np.round(2 * x, 3)}, got {np.round(got, 3)}")


CHECKS = (Check("double_values", NOTEBOOK, 1, "double(x) is 2·x on the grader's arrays.", doubles, visible=False),)
