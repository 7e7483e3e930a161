"""Broken and hostile submissions, kept as notebooks named by what they do, with the points each gets.

Each case starts from an example of ``tests/examples.py`` and changes the notebook: an answer
cell replaced, a cell added, test cells deleted or edited. ``points`` is what the hidden
pytest graders give; ``nbgrader_points`` what ``nbgrader autograde`` gives where it differs
(nbgrader cannot re-check outside the kernel and drops a notebook whose kernel died).
``python -m tests.corpus`` writes the notebooks to ``tests/submissions/corpus/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tests.examples import LR_FULL, LS_FULL, ROOT, build, example

OUT = ROOT / "tests" / "submissions" / "corpus"
#: Per-cell time limit the corpus is graded with (the endless loop costs three of these).
CELL_TIMEOUT = 20


@dataclass(frozen=True)
class Case:
    """A hostile or broken submission: what it does, how it is made, the points and report it gets."""

    name: str
    base: tuple[str, str]  # (notebook, example name)
    edit: Callable[[nbformat.NotebookNode], None]
    points: dict[str, int]
    message: dict[str, str] = field(default_factory=dict)  # grade_id -> phrase its message holds
    nbgrader_points: dict[str, int] | None = None  # when nbgrader gives something else
    needs_sandbox: bool = False  # defended only by the pytest graders' bubblewrap sandbox

    @property
    def notebook(self) -> str:
        return self.base[0]


def _answer(grade_id: str, source: str) -> Callable:
    def edit(nb):
        for cell in nb.cells:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
                cell.source = source.strip("\n")
    return edit


def _append(source: str, after: str | None = None) -> Callable:
    """Add a student cell with ``source`` after the cell whose grade_id is ``after`` (default: at the end)."""
    def edit(nb):
        cell = nbformat.v4.new_code_cell(source.strip("\n"))
        cell.id = "added-by-student"  # fixed, so that the notebook written is reproducible
        index = len(nb.cells)
        if after:
            index = 1 + next(i for i, c in enumerate(nb.cells)
                             if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == after)
        nb.cells.insert(index, cell)
    return edit


def _test_cells(action: str) -> Callable:
    def edit(nb):
        keep = []
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                if action == "delete":
                    continue
                cell.source = "# the student made this test always pass\npass"
            keep.append(cell)
        nb.cells = keep
    return edit


def _both(*edits: Callable) -> Callable:
    def edit(nb):
        for e in edits:
            e(nb)
    return edit


# The three cases below act on what the test gives them through the environment: a canary
# file outside the work folder, a TCP port on the grading machine's loopback. The pytest
# graders run the kernel in a sandbox (bubblewrap), so none of them gets anywhere there.
STEAL_SOLUTIONS = '''
import glob
import os

# the kernel's PYTHONPATH names the course folder: look for the solution notebooks there
for root in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    for path in glob.glob(os.path.join(root, "source", "*", "01_linear_system.ipynb")):
        import json
        for cell in json.load(open(path))["cells"]:
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                exec("".join(cell["source"]).replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""))
'''
TAMPER_FILES = '''
import os

canary = os.environ.get("GD_CANARY")
if canary:
    try:
        with open(canary, "w") as f:
            f.write("overwritten by a student")
    except OSError as exc:
        print("could not write:", exc)
'''
PHONE_HOME = '''
import os
import socket

port = int(os.environ.get("GD_CANARY_PORT", "0"))
if port:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(b"hidden tests leaked")
    except OSError as exc:
        print("could not connect:", exc)
'''


LS, LR = "01_linear_system", "03_logistic_regression"
ZERO_LS = dict.fromkeys(LS_FULL, 0)

CASES: tuple[Case, ...] = (
    Case("endless_loop_in_stub", (LS, "solution"), _answer("should_stop_answer", '''
def should_stop(loss, previous_loss, tol):
    while True:  # waits for a change that never comes
        pass
'''), {**LS_FULL, "early_stopping_rule": 0, "early_stopping_in_loop": 0},
        {"early_stopping_rule": "time limit", "early_stopping_in_loop": "time limit"}),
    Case("kernel_exits_with_os_exit", (LS, "solution"), _answer("should_stop_answer", '''
import os


def should_stop(loss, previous_loss, tol):
    os._exit(1)
'''), {**LS_FULL, "early_stopping_rule": 0, "linear_systems_converge": 0, "early_stopping_in_loop": 0},
        {"early_stopping_rule": "kernel died", "early_stopping_in_loop": "kernel died"},
        nbgrader_points=ZERO_LS),
    Case("sys_exit_in_a_cell", (LS, "solution"), _append("import sys\nsys.exit()", after="setup_linear_system"),
         LS_FULL),
    Case("unbounded_memory", (LS, "solution"), _answer("linear_system_loss_answer", '''
import numpy as np


def linear_system_loss(A, b, v):
    cache = np.ones((40_000, 40_000, 8))  # 100 GB
    return tf.reduce_sum(tf.square(tf.linalg.matvec(A, v) - b)) + cache[0, 0, 0] * 0
'''), {**LS_FULL, "linear_system_loss_value": 0, "linear_systems_converge": 0},
        {"linear_system_loss_value": "memory limit"},
        nbgrader_points={**LS_FULL, "linear_system_loss_value": 0, "linear_systems_converge": 0}),
    Case("fake_passing_output", (LS, "untouched"), _append('''
from IPython.display import display
print("✔ 通過 passed: all tests — total 10 / 10")
for gid in ["linear_system_loss_value", "linear_systems_converge"]:
    display({"application/vnd.gdgrade.result+json": {"grade_id": gid, "passed": True, "message": "",
             "seconds": 0, "nonce": "guessed"}}, raw=True)
'''), ZERO_LS),
    Case("deleted_test_cells", (LS, "solution"), _test_cells("delete"), LS_FULL),
    Case("edited_test_cells", (LS, "untouched"), _test_cells("edit"), ZERO_LS),
    Case("noise_on_stderr_and_megabytes_of_output", (LS, "solution"), _append('''
import sys
import warnings

warnings.warn("a warning a student left in", stacklevel=1)
print("W tensorflow/core/framework: noisy log line", file=sys.stderr)
print("x" * 5_000_000)
''', after="setup_linear_system"), LS_FULL),
    Case("patches_the_graders", (LR, "learning_rate_zero"), _append('''
import autograde.registry
import gdkit.checks._common

autograde.registry.run_check = lambda *args, **kwargs: None
autograde.registry.run_hidden = lambda *args, **kwargs: None
gdkit.checks._common.CheckFailed = type("Never", (Exception,), {})
''', after="setup_logistic"), {**LR_FULL, "loss_decreases": 0, "logreg_test_accuracy": 0},
        {"loss_decreases": "outside your kernel", "logreg_test_accuracy": "outside your kernel"},
        nbgrader_points=LR_FULL),
    Case("reads_the_solutions_from_disk", (LS, "untouched"),
         _both(*(_answer(gid, STEAL_SOLUTIONS) for gid in
                 ("linear_system_loss_answer", "gradient_step_answer", "should_stop_answer"))),
         ZERO_LS, {"linear_system_loss_value": "is not defined"}, nbgrader_points=LS_FULL,
         needs_sandbox=True),
    Case("writes_outside_its_folder", (LS, "solution"), _append(TAMPER_FILES, after="setup_linear_system"),
         LS_FULL, needs_sandbox=True),
    Case("opens_a_network_connection", (LS, "solution"), _append(PHONE_HOME, after="setup_linear_system"),
         LS_FULL, needs_sandbox=True),
)


def build_case(case: Case) -> nbformat.NotebookNode:
    nb = build(example(*case.base))
    case.edit(nb)
    return nb


def path_of(case: Case) -> Path:
    return OUT / f"{case.name}.ipynb"


def write_all() -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        nbformat.write(build_case(case), path_of(case))
    return [path_of(c) for c in CASES]


if __name__ == "__main__":
    for p in write_all():
        print(p.relative_to(ROOT))
