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
    """A submission of ``notebook``: answers replaced per answer grade_id, points deserved per check."""

    name: str
    notebook: str
    points: dict[str, int]
    answers: dict[str, str] = field(default_factory=dict)
    solved: bool = True  # False: the untouched release


LS = "01_linear_system"
LS_FULL = {"linear_system_loss_value": 2, "gradient_step_matches_reference": 2,
           "early_stopping_rule": 1, "linear_systems_converge": 3, "early_stopping_in_loop": 2}

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
)

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
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers and cell.metadata["nbgrader"].get("solution"):
            cell.source = answers[gid]
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
