"""Grading thresholds hold with margin for the reference solution across 20 seeds."""

from __future__ import annotations

import pytest

from autograde import linear_system as ls

pytestmark = pytest.mark.slow
SEEDS = range(20)


@pytest.fixture(scope="module")
def calibration():
    from bench.calibrate_linear_system import calibrate

    return [calibrate(seed) for seed in SEEDS]


def test_reference_solutions_stay_well_inside_the_solution_tolerance(calibration):
    worst = max(row["converge_max_error"] for row in calibration)
    assert worst <= ls.SOLUTION_TOL / 4, f"worst relative error {worst:.2e}"


def test_reference_early_stopping_fires_with_margin_before_the_deadline(calibration):
    assert all(row["all_stopped_early"] for row in calibration)
    latest = max(row["early_max_epochs"] for row in calibration)
    assert latest <= ls.EARLY_STOP_BY / 2, f"latest early stop at epoch {latest}"
    assert max(row["early_max_error"] for row in calibration) <= ls.SOLUTION_TOL / 4
