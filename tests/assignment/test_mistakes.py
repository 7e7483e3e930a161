"""Typical mistakes (tests/mistakes.py), judged from their functions in this process: each loses
exactly the unit checks of the function at fault, the message names the cause (or, where no known
mistake fits, names none), and every line of it is in one language."""

from __future__ import annotations

import re

import nbformat
import pytest

from autograde.assignment import diagnose
from autograde.assignment.notebook import answer_namespace
from autograde.assignment.registry import BY_ID, CHECKS
from autograde.grading.judge import in_process_kernel, judge
from tests.examples import ROOT
from tests.grading.test_judge import SETUP, UNIT
from tests.mistakes import MISTAKES, mixed_lines

#: Framework text a student must never get in place of a cause.
CJK = re.compile(r"[\u4e00-\u9fff]")
INTERNALS = re.compile(r"\{\{function_node|\{\{node|<tf\.Tensor|Traceback|site-packages|__wrapped__|\[Op:")


def test_the_corpus_holds_at_least_thirty_cases_across_the_three_notebooks():
    assert len(MISTAKES) >= 30
    assert {m.notebook for m in MISTAKES} == {c.notebook for c in CHECKS}
    assert len({m.name for m in MISTAKES}) == len(MISTAKES)
    assert sum(not m.lost for m in MISTAKES) >= 6, "correct but unusual answers keep full marks"
    assert sum(m.unexplained for m in MISTAKES) >= 4, "wrong answers no known mistake explains"


@pytest.mark.slow
@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_a_mistake_loses_only_the_checks_of_the_function_at_fault_and_names_its_cause(mistake, tmp_path):
    nb = nbformat.read(ROOT / "source" / "gd_applications" / f"{mistake.notebook}.ipynb", as_version=4)
    ns = answer_namespace(nb, SETUP, replace=mistake.answers())
    lost = {}
    for check in (c for c in UNIT if c.notebook == mistake.notebook):
        verdict = judge(check, in_process_kernel(dict(ns), tmp_path), seed=0)
        if not verdict.passed:
            lost[check.grade_id] = verdict.message
    # a check that follows others may fail too, when it depends on a function at fault
    follows = {c.grade_id: set(c.follows) for c in CHECKS}
    assert set(mistake.lost) <= set(lost), lost
    for grade_id in set(lost) - set(mistake.lost):
        assert follows[grade_id] & set(mistake.lost), f"{grade_id} lost without its cause: {lost}"
    for grade_id, phrase in mistake.lost.items():
        assert phrase in lost[grade_id], lost[grade_id]
        assert CJK.search(lost[grade_id]), "the message speaks zh-TW too"
        assert not INTERNALS.search(lost[grade_id]), lost[grade_id]
        if mistake.unexplained:  # what was measured and what was expected, and no cause the values do not show
            assert "Likely cause" not in lost[grade_id] and "可能原因" not in lost[grade_id], lost[grade_id]
            assert diagnose.find(lost[grade_id]) is None and "?" not in lost[grade_id], lost[grade_id]
    for message in lost.values():
        assert not mixed_lines(message), mixed_lines(message)


@pytest.mark.parametrize(("reported", "phrase"), [
    (lambda right, on_training, on_batch: 100 * right, "multiplied by 100"),
    (lambda right, on_training, on_batch: on_training, "on the training images"),
    (lambda right, on_training, on_batch: on_batch, "not on a training batch"),
    (lambda right, on_training, on_batch: right / 2, None),
], ids=["in_percent", "on_the_training_images", "on_the_last_batch", "unexplained"])
def test_a_wrong_reported_accuracy_is_told_by_what_its_value_shows(reported, phrase, tmp_path):
    import numpy as np

    from autograde.exercises import mnist_data
    from autograde.exercises.logistic_regression import checks

    rng = np.random.default_rng(5)
    W, b = (rng.normal(size=(784, 10)) * 0.05).astype(np.float32), rng.normal(size=10).astype(np.float32)
    data = mnist_data.grader_data()
    x = data.x_train.reshape(len(data.x_train), -1)
    on_training = mnist_data.accuracy_of(lambda xb: xb @ W + b, x, data.y_train)
    batch_x, batch_y = x[-32:], data.y_train[-32:]
    on_batch = mnist_data.accuracy_of(lambda xb: xb @ W + b, batch_x, batch_y)
    ns = {"W": W, "b": b, "batch_x": batch_x, "batch_y": batch_y,
          "test_accuracy": reported(checks._test_accuracy_of(W, b), on_training, on_batch)}
    verdict = judge(BY_ID["test_accuracy_reported"], in_process_kernel(ns, tmp_path), seed=0)
    assert not verdict.passed and "`test_accuracy` is" in verdict.message
    assert not mixed_lines(verdict.message), verdict.message
    if phrase:
        assert "Likely cause: " in verdict.message and phrase in verdict.message, verdict.message
    else:
        assert "Likely cause" not in verdict.message and "training batch" not in verdict.message


def test_weights_that_training_never_moved_are_told_as_such(tmp_path):
    import numpy as np

    ns = {"W": np.zeros((784, 10), np.float32), "b": np.zeros(10, np.float32), "losses": np.full(300, 2.3)}
    verdict = judge(BY_ID["loss_decreases"], in_process_kernel(ns, tmp_path), seed=0)
    assert not verdict.passed and "still all zeros" in verdict.message and "learning rate 0" in verdict.message
    assert not mixed_lines(verdict.message), verdict.message
