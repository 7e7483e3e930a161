"""Accuracy thresholds follow the grader's own reference run, cached per data source (no notebook runs)."""

from __future__ import annotations

import numpy as np
import pytest

from autograde.assignment.returned import Value
from autograde.exercises import mnist_data
from autograde.grading import reference_run

EXPECT = {"v0": Value((3,))}


@pytest.fixture
def fake_runs(tmp_path, monkeypatch):
    """Reference runs that return W = a given value, counted; a fresh cache folder."""
    monkeypatch.setenv("GD_GRADING_CACHE", str(tmp_path / "cache"))
    calls = []

    def run(notebook, target, needs, expect, timeout):
        calls.append(notebook)
        return {"v0": np.full(3, 0.9)}

    monkeypatch.setattr(reference_run, "_run", run)
    return calls


def test_a_reference_run_is_made_once_per_data_source_and_settings(fake_runs, monkeypatch):
    notebook = "03_logistic_regression"
    for _ in range(2):
        got = reference_run.source_values(notebook, "gdkit.probe:values", ("W",), key="data-1", expect=EXPECT)
        assert got["v0"].tolist() == [0.9, 0.9, 0.9]
    assert len(fake_runs) == 1
    reference_run.source_values(notebook, "gdkit.probe:values", ("W",), key="data-2", expect=EXPECT)
    assert len(fake_runs) == 2, "another data source needs its own reference run"
    monkeypatch.setenv("GD_LOGREG_STEPS", "100")
    reference_run.source_values(notebook, "gdkit.probe:values", ("W",), key="data-1", expect=EXPECT)
    assert len(fake_runs) == 3, "another training budget needs its own reference run"


def test_the_threshold_is_the_reference_accuracy_less_the_margin(fake_runs, monkeypatch):
    monkeypatch.setattr(mnist_data, "fingerprint", lambda: "data-1")
    minimum, described = mnist_data.threshold("03_logistic_regression", "gdkit.probe:values", ("W",), EXPECT,
                                              lambda values: float(values["v0"][0]))
    assert minimum == pytest.approx(0.9 - mnist_data.MARGIN)
    assert "0.9000" in described and str(mnist_data.MARGIN) in described


def test_the_data_fingerprint_changes_with_the_data_and_with_the_held_out_images(tmp_path, monkeypatch):
    monkeypatch.setenv("GD_GRADING_CACHE", str(tmp_path / "cache"))
    embedded = mnist_data.fingerprint()
    data = mnist_data.grader_data()
    rng = np.random.default_rng(0)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=rng.integers(0, 255, (60, 28, 28), dtype=np.uint8), y_train=np.arange(60) % 10,
             x_test=rng.integers(0, 255, (20, 28, 28), dtype=np.uint8), y_test=np.arange(20) % 10)
    monkeypatch.setenv("GD_MNIST_PATH", str(path))
    from_file = mnist_data.fingerprint()
    assert from_file != embedded
    assert mnist_data.grader_data().source != data.source
    # the same training and test images, other held-out images: another reference run
    held = mnist_data.split_folder() / "held-out" / "x.npy"
    np.save(held, np.load(held)[::-1].copy())
    mnist_data._split.cache_clear()
    assert mnist_data.fingerprint() != from_file


def test_a_notebooks_time_limit_is_a_multiple_of_its_solutions_within_a_floor_and_the_cap():
    from autograde import limits

    assert limits.notebook_limit(None, 900) == (900, "900 s")
    assert limits.notebook_limit(2.0, 900)[0] == limits.NOTEBOOK_TIME_FLOOR
    slow = limits.NOTEBOOK_TIME_FLOOR / limits.NOTEBOOK_TIME_MULTIPLE * 2
    limit, how = limits.notebook_limit(slow, 900)
    assert limit == round(limits.NOTEBOOK_TIME_MULTIPLE * slow) and "the solution's" in how
    assert limits.notebook_limit(1000.0, 900) == (900, "900 s")
    assert limits.notebook_limit(2.0, 60) == (60, "60 s"), "an instructor's lower timeout holds"


def test_a_solutions_run_time_is_measured_once_and_cached(fake_runs, monkeypatch):
    def timed_run(notebook, target, needs, expect, timeout):
        fake_runs.append(notebook)
        reference_run._write_atomically(reference_run._seconds_file(notebook), b'{"seconds": 7.5}')
        return {}

    monkeypatch.setattr(reference_run, "_run", timed_run)
    assert [reference_run.solution_seconds("01_linear_system") for _ in range(2)] == [7.5, 7.5]
    assert fake_runs == ["01_linear_system"]


def test_a_grading_session_limits_its_notebook_by_the_solutions_time(monkeypatch):
    import nbformat

    from autograde import limits
    from autograde.assignment.registry import CHECKS
    from autograde.grading.session import GradingSession

    check = next(c for c in CHECKS if c.notebook == "02_mnist_gradient_tape")
    cell = nbformat.v4.new_code_cell("")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "points": 1, "grade_id": check.grade_id}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), cell])
    monkeypatch.setattr(reference_run, "solution_seconds", lambda notebook: {"02_mnist_gradient_tape": 40.0}[notebook])
    limit, how = GradingSession(nb, notebook_timeout=900)._own_time_limit(nb)
    assert limit == 40 * limits.NOTEBOOK_TIME_MULTIPLE and "the solution's 40.0 s" in how
    assert GradingSession(nb, notebook_timeout=900, follow_solution_time=False)._own_time_limit(nb)[0] == 900
