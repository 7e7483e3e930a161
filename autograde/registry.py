"""Every graded check of the assignment: grade_id, points, and the functions that decide it.

This is the one source of truth. A notebook's test cell runs the ``visible`` functions
itself and, in its hidden region, calls ``run_hidden(grade_id, globals())``; the pytest
graders call ``run_check`` with the same grade_id, which runs visible and hidden parts in
the same order. ``tests/test_registry.py`` proves the notebooks' test cells match this table.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from autograde import linear_system as ls
from autograde import logistic_regression as lr
from autograde import mnist_mlp as mlp
from gdkit.checks import linear_system as ls_visible
from gdkit.checks import logistic_regression as lr_visible
from gdkit.checks import mnist_mlp as mlp_visible
from gdkit.checks._common import CheckFailed, say
from gdkit.seeding import quiet_tensorflow, seed_everything

ASSIGNMENT = "gd_applications"


@dataclass(frozen=True)
class Check:
    """One graded behaviour.

    needs: names the check reads from the student's namespace, passed in this order.
    visible / hidden: functions called as ``f(*needed)`` / ``f(*needed, seed=seed)``.
    """

    grade_id: str
    notebook: str
    points: int
    needs: tuple[str, ...]
    visible: tuple[Callable, ...]
    hidden: tuple[Callable, ...]
    description: str
    #: For checks worth re-checking outside the student's kernel: ``export(*needed, seed=...)``
    #: gives arrays (run in the kernel), ``recheck(arrays, seed=...)`` judges them in the grader.
    export: Callable | None = None
    recheck: Callable | None = None


CHECKS: tuple[Check, ...] = (
    Check("linear_system_loss_value", "01_linear_system", 2, ("linear_system_loss",),
          (ls_visible.check_loss_known_points,), (ls.loss_matches_reference,),
          "The loss is the sum of squared residuals, at known points and on new systems."),
    Check("gradient_step_matches_reference", "01_linear_system", 2, ("gradient_step",),
          (ls_visible.check_step_lowers_loss,), (ls.step_matches_reference,),
          "One step lowers the loss and equals a reference SGD and Adam step."),
    Check("early_stopping_rule", "01_linear_system", 1, ("should_stop",),
          (ls_visible.check_stop_rule_examples,), (ls.stop_rule_cases,),
          "The stopping rule |Δloss| < tol on hand-made pairs of losses."),
    Check("linear_systems_converge", "01_linear_system", 3,
          ("linear_system_loss", "gradient_step"), (), (ls.systems_converge,),
          "The loss and step solve the lesson's three systems and unseen ones from random starts.",
          export=ls.export_solutions, recheck=ls.recheck_solutions),
    Check("early_stopping_in_loop", "01_linear_system", 2, ("should_stop",),
          (), (ls.early_stopping_in_loop,),
          "Inside the loop the rule stops well before the epoch limit, near the solution."),
    Check("mnist_loss_value", "02_mnist_gradient_tape", 2, ("mnist_loss",),
          (mlp_visible.check_loss_small_example,), (mlp.loss_matches_reference,),
          "The loss is the mean categorical cross-entropy of one-hot labels."),
    Check("train_step_lowers_loss", "02_mnist_gradient_tape", 2, ("train_step",),
          (mlp_visible.check_step_lowers_loss,), (mlp.step_lowers_loss,),
          "Training steps on one fixed batch lower its loss, compiled with tf.function."),
    Check("train_step_training_mode", "02_mnist_gradient_tape", 1, ("train_step",),
          (mlp_visible.check_training_mode,), (mlp.training_mode,),
          "The step calls the model with training=True, so that Dropout acts."),
    Check("early_stopping_restores_best", "02_mnist_gradient_tape", 2, ("EarlyStopping",),
          (mlp_visible.check_early_stopping_example,), (mlp.early_stopping_cases,),
          "Early stopping on scripted validation losses stops in time and restores the best weights."),
    Check("mlp_test_accuracy", "02_mnist_gradient_tape", 3, ("model",),
          (), (mlp.mlp_accuracy,),
          "The trained network reaches the accuracy threshold on the grader's own test set.",
          export=mlp.export_weights, recheck=mlp.recheck_accuracy),
    Check("logits_and_loss_value", "03_logistic_regression", 2, ("logits", "cross_entropy"),
          (lr_visible.check_logits_and_loss_example,), (lr.logits_and_loss_match_reference,),
          "Logits x·W + b and the mean softmax cross-entropy equal the reference."),
    Check("accuracy_value", "03_logistic_regression", 1, ("accuracy",),
          (lr_visible.check_accuracy_example,), (lr.accuracy_matches_reference,),
          "Accuracy is the fraction of argmax predictions equal to the labels."),
    Check("sgd_step_matches_reference", "03_logistic_regression", 2, ("sgd_step",),
          (lr_visible.check_sgd_step_example,), (lr.sgd_step_matches_reference,),
          "One SGD step equals W − lr·dW, b − lr·db from a fixed point."),
    Check("loss_decreases", "03_logistic_regression", 2, ("W", "b", "losses"),
          (), (lr.loss_decreases,),
          "The training loss falls: recorded windows, and the grader's own full training loss.",
          export=lr.export_params, recheck=lr.recheck_loss_decreases),
    Check("test_accuracy_reported", "03_logistic_regression", 1, ("W", "b", "test_accuracy"),
          (), (lr.reported_accuracy,),
          "The reported accuracy is measured on the test set, not on a training batch.",
          export=lr.export_params, recheck=lr.recheck_reported_accuracy),
    Check("logreg_test_accuracy", "03_logistic_regression", 2, ("W", "b"),
          (), (lr.logreg_accuracy,),
          "The trained W, b reach the accuracy threshold on the grader's own test set.",
          export=lr.export_params, recheck=lr.recheck_logreg_accuracy),
)

BY_ID = {c.grade_id: c for c in CHECKS}
NOTEBOOKS = tuple(dict.fromkeys(c.notebook for c in CHECKS))


def grading_seed() -> int:
    """The seed of every hidden check: 0 unless ``GDGRADE_SEED`` says otherwise."""
    return int(os.environ.get("GDGRADE_SEED", "0"))


def _needed(check: Check, ns: dict) -> list:
    missing = [n for n in check.needs if n not in ns]
    if missing:
        names = ", ".join(f"`{n}`" for n in missing)
        raise CheckFailed(say(f"找不到 {names}:是否改了名字,或沒有執行定義它的儲存格?",
                              f"{names} is not defined: was it renamed, or was the cell that "
                              "defines it not run?"))
    return [ns[n] for n in check.needs]


def run_hidden(grade_id: str, ns: dict) -> None:
    """Run the hidden part of one check against the student's namespace ``ns``."""
    check = BY_ID[grade_id]
    quiet_tensorflow()
    args = _needed(check, ns)
    seed = grading_seed()
    for fn in check.hidden:
        seed_everything(seed)
        fn(*args, seed=seed)


def export_values(grade_id: str, ns: dict, path: str) -> None:
    """Save what the check's ``recheck`` needs, as a NumPy .npz file at ``path``."""
    import numpy as np

    check = BY_ID[grade_id]
    np.savez(path, **check.export(*_needed(check, ns), seed=grading_seed()))


def run_check(grade_id: str, ns: dict) -> None:
    """Run the visible and then the hidden part of one check, as its test cell does."""
    check = BY_ID[grade_id]
    quiet_tensorflow()
    args = _needed(check, ns)
    for fn in check.visible:
        fn(*args)
    run_hidden(grade_id, ns)
