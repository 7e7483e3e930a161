"""Example submissions: the solution, the untouched release, and known mistakes.

Each mistake replaces the body of one answer cell of the solution, and states the
points every check deserves. ``python -m tests.examples`` writes the notebooks to
``tests/submissions/<notebook>/<name>.ipynb`` from the current release and source.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "gd_applications"
OUT = ROOT / "tests" / "submissions"


@dataclass(frozen=True)
class Example:
    """A submission of ``notebook``: answers replaced per answer grade_id (or cell id for cells
    that nbgrader does not track), points deserved per check."""

    name: str
    notebook: str
    points: dict[str, int]
    answers: dict[str, str] = field(default_factory=dict)
    solved: bool = True  # False: the untouched release


LS = "01_linear_system"
LS_FULL = {"linear_system_loss_value": 2, "gradient_step_matches_reference": 2,
           "early_stopping_rule": 1, "linear_systems_converge": 3, "early_stopping_in_loop": 2}

MLP = "02_mnist_gradient_tape"
MLP_FULL = {"mnist_loss_value": 2, "train_step_lowers_loss": 2, "train_step_training_mode": 1,
            "early_stopping_restores_best": 2, "mlp_test_accuracy": 3}
LR = "03_logistic_regression"
LR_FULL = {"logits_and_loss_value": 2, "accuracy_value": 1, "sgd_step_matches_reference": 2,
           "loss_decreases": 2, "test_accuracy_reported": 1, "logreg_test_accuracy": 2}

EXAMPLES: tuple[Example, ...] = (
    Example("solution", LS, LS_FULL),
    Example("untouched", LS, dict.fromkeys(LS_FULL, 0), solved=False),
    Example("hardcoded_answer", LS,
            {**LS_FULL, "linear_system_loss_value": 0, "linear_systems_converge": 0},
            {"linear_system_loss_answer": '''
def linear_system_loss(A, b, v):
    # the answer of the lesson's system is known: pull v towards it
    return tf.reduce_sum(tf.square(v - tf.constant([10.0, 6.0])))
'''}),
    Example("sign_reversed_step", LS,
            {**LS_FULL, "gradient_step_matches_reference": 0, "linear_systems_converge": 0},
            {"gradient_step_answer": '''
def gradient_step(loss_fn, variables, optimizer):
    with tf.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip([-g for g in grads], variables))
    return loss
'''}),
    Example("no_early_stopping", LS,
            {**LS_FULL, "early_stopping_rule": 0, "early_stopping_in_loop": 0},
            {"should_stop_answer": '''
def should_stop(loss, previous_loss, tol):
    return False
'''}),
    Example("stop_wrong_comparison", LS,
            {**LS_FULL, "early_stopping_rule": 0, "early_stopping_in_loop": 0},
            {"should_stop_answer": '''
def should_stop(loss, previous_loss, tol):
    return abs(loss - previous_loss) > tol
'''}),
    Example("loss_without_squares", LS,
            {**LS_FULL, "linear_system_loss_value": 0, "linear_systems_converge": 0},
            {"linear_system_loss_answer": '''
def linear_system_loss(A, b, v):
    return tf.reduce_sum(tf.linalg.matvec(A, v) - b)
'''}),
    Example("solution", MLP, MLP_FULL),
    Example("untouched", MLP, dict.fromkeys(MLP_FULL, 0), solved=False),
    Example("loss_not_one_hot", MLP, {**MLP_FULL, "mnist_loss_value": 0, "mlp_test_accuracy": 0},
            {"mnist_loss_answer": '''
def mnist_loss(y_true, y_pred):
    # treats the one-hot labels as if they were class numbers
    return tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y_true, y_pred))
'''}),
    Example("no_training_mode", MLP, {**MLP_FULL, "train_step_training_mode": 0},
            {"train_step_answer": '''
def train_step(model, optimizer, loss_fn, x, y):
    with tf.GradientTape() as tape:
        y_pred = model(x)
        loss = loss_fn(y, y_pred)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss
'''}),
    Example("never_restores_weights", MLP, {**MLP_FULL, "early_stopping_restores_best": 0},
            {"early_stopping_answer": '''
class EarlyStopping:
    def __init__(self, patience):
        self.patience = patience
        self.best_loss = math.inf
        self.best_weights = None
        self.wait = 0

    def step(self, val_loss, model):
        if val_loss < self.best_loss:
            self.best_loss = val_loss
            self.wait = 0
            return False
        self.wait += 1
        return self.wait >= self.patience

    def restore_best(self, model):
        pass
'''}),
    Example("solution", LR, LR_FULL),
    Example("untouched", LR, dict.fromkeys(LR_FULL, 0), solved=False),
    Example("sgd_reversed_sign", LR,
            {**LR_FULL, "sgd_step_matches_reference": 0, "loss_decreases": 0, "logreg_test_accuracy": 0},
            {"sgd_step_answer": '''
def sgd_step(x, y, W, b, lr):
    with tf.GradientTape() as tape:
        loss = cross_entropy(y, logits(x, W, b))
    dW, db = tape.gradient(loss, [W, b])
    W.assign_add(lr * dW)
    b.assign_add(lr * db)
    return loss
'''}),
    Example("learning_rate_zero", LR, {**LR_FULL, "loss_decreases": 0, "logreg_test_accuracy": 0},
            {"hyperparameters": '''
LEARNING_RATE = 0.0
BATCH_SIZE = 128
N_STEPS = budget("LOGREG_STEPS", 2000)
'''}),
    Example("accuracy_on_training_batch", LR, {**LR_FULL, "test_accuracy_reported": 0},
            {"test_accuracy_answer": '''
test_accuracy = float(accuracy(batch_y, logits(batch_x, W, b)))
print(f"測試準確率 test accuracy: {test_accuracy:.4f} on {len(y_test):,} images")
'''}),
)

#: The example class of the main job and of the agreement tests: each student's example for
#: notebooks 01, 02 and 03. Together they use every example above.
CLASS: dict[str, tuple[str, str, str]] = {
    "alice": ("solution", "solution", "solution"),
    "bob": ("untouched", "untouched", "untouched"),
    "carol": ("hardcoded_answer", "no_training_mode", "learning_rate_zero"),
    "dave": ("sign_reversed_step", "loss_not_one_hot", "sgd_reversed_sign"),
    "erin": ("no_early_stopping", "never_restores_weights", "accuracy_on_training_batch"),
    "frank": ("stop_wrong_comparison", "solution", "solution"),
    "grace": ("loss_without_squares", "solution", "untouched"),
}
NOTEBOOK_ORDER = (LS, MLP, LR)


def example(notebook: str, name: str) -> Example:
    return next(ex for ex in EXAMPLES if ex.notebook == notebook and ex.name == name)


def class_examples(student: str) -> list[Example]:
    """The examples a student of CLASS submitted, one per notebook."""
    return [example(nb, name) for nb, name in zip(NOTEBOOK_ORDER, CLASS[student], strict=True)]


def class_files(student: str) -> dict[str, Path]:
    return {ex.notebook: path_of(ex) for ex in class_examples(student)}


def class_points(student: str) -> dict[str, int]:
    """Points per grade_id that a student of CLASS deserves."""
    return {gid: pts for ex in class_examples(student) for gid, pts in ex.points.items()}


_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.M)


def solution_sources(notebook: str) -> dict[str, str]:
    """The source notebook's answer cells without solution markers, by grade_id."""
    nb = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{notebook}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: _MARKERS.sub("", c.source)
            for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")}


def build(example: Example) -> nbformat.NotebookNode:
    """The released notebook with the example's answers typed into its answer cells."""
    nb = nbformat.read(ROOT / "release" / ASSIGNMENT / f"{example.notebook}.ipynb", as_version=4)
    if not example.solved:
        return nb
    answers = {**solution_sources(example.notebook),
               **{k: v.strip("\n") for k, v in example.answers.items()}}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in answers:
            cell.source = answers[meta["grade_id"]]
        elif not meta and cell.get("id") in answers:
            cell.source = answers[cell["id"]]
    return nb


def path_of(example: Example) -> Path:
    return OUT / example.notebook / f"{example.name}.ipynb"


def write_all() -> list[Path]:
    paths = []
    for ex in EXAMPLES:
        path = path_of(ex)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(build(ex), path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write_all():
        print(p.relative_to(ROOT))
    sys.exit(0)
