"""Exercise 1's tolerances hold with margin for the reference and the source's answers, over 20 seeds."""

from __future__ import annotations

import pytest

from autograde.exercises.linear_system import checks

pytestmark = pytest.mark.slow
SEEDS = range(20)


@pytest.fixture(scope="module")
def calibration(tmp_path_factory):
    from autograde.exercises.linear_system.calibration import calibrate, solution_kernel

    kernel = solution_kernel(tmp_path_factory.mktemp("scratch"))
    return [calibrate(seed, kernel) for seed in SEEDS]


def test_solutions_stay_well_inside_the_solution_tolerance(calibration):
    worst = max(max(row["converge_max_error"], row["float32_max_error"]) for row in calibration)
    assert worst <= checks.SOLUTION_TOL / 4, f"worst relative error {worst:.2e}"


def test_float32_runs_follow_the_graders_path_well_inside_the_early_tolerance(calibration):
    gap = max(row["float32_early_gap"] for row in calibration)
    assert gap <= checks.EARLY_TOL / 4, f"largest gap after 10 epochs {gap:.2e}"


def test_reference_early_stopping_fires_with_margin_before_the_deadline(calibration):
    assert all(row["all_stopped_early"] for row in calibration)
    latest = max(row["early_max_epochs"] for row in calibration)
    assert latest <= checks.EARLY_STOP_BY / 2, f"latest early stop at epoch {latest}"
    assert max(row["early_max_error"] for row in calibration) <= checks.SOLUTION_TOL / 4
