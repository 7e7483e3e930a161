"""Re-checks outside the kernel judge exported values on the grader's own instances."""

from __future__ import annotations

import numpy as np
import pytest

from autograde import linear_system as ls
from gdkit.checks._common import CheckFailed


def exact_solutions(seed: int) -> np.ndarray:
    return np.stack([np.linalg.solve(np.asarray(s.A, float), np.asarray(s.b, float))
                     for s, _ in ls._convergence_plan(seed)])


def test_exact_solutions_pass_the_linear_system_recheck():
    ls.recheck_solutions({"solutions": exact_solutions(0)}, seed=0)


def test_solutions_within_the_tolerance_pass_and_beyond_it_fail():
    near = exact_solutions(0) * (1 + ls.SOLUTION_TOL / 2)
    ls.recheck_solutions({"solutions": near}, seed=0)
    far = exact_solutions(0).copy()
    far[-1] *= 1 + 3 * ls.SOLUTION_TOL
    with pytest.raises(CheckFailed, match="the solution reached was"):
        ls.recheck_solutions({"solutions": far}, seed=0)


def test_solutions_of_another_seed_or_shape_fail():
    with pytest.raises(CheckFailed):
        ls.recheck_solutions({"solutions": exact_solutions(0)}, seed=1)
    with pytest.raises(CheckFailed, match="shape"):
        ls.recheck_solutions({"solutions": exact_solutions(0)[:3]}, seed=0)
