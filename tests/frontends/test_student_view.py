"""What a student sees in JupyterLab: a failing visible check shows its bilingual message and the
student's own line, never the checker's stack; TensorFlow starts without red log lines.

The kernels run in ``release/gd_applications`` (the folder students open), with no ``TF_`` setting
in their environment, as after `jupyter lab` started by hand.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "release" / "gd_applications"
NOTEBOOKS = ("01_linear_system", "02_mnist_gradient_tape", "03_logistic_regression")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: What TensorFlow's C++ side writes to stderr when it starts or an op fails.
TF_NOISE = re.compile(r"oneDNN|absl|tensorflow|cpu_feature_guard|rendezvous|^[IW]0000", re.I | re.M)


def release_cells(notebook: str) -> list:
    return nbformat.read(RELEASE / f"{notebook}.ipynb", as_version=4).cells


def test_cell(notebook: str, grade_id: str) -> str:
    """The source of the released cell ``grade_id``."""
    return next(c.source for c in release_cells(notebook)
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


test_cell.__test__ = False  # a helper, not a test


class Kernel:
    """One kernel of a scratch notebook: ``run(source)`` executes a new cell and returns its outputs."""

    def __init__(self, client: NotebookClient):
        self.client = client

    def run(self, source: str) -> list:
        nb = self.client.nb
        nb.cells.append(nbformat.v4.new_code_cell(source))
        return self.client.execute_cell(nb.cells[-1], len(nb.cells) - 1).outputs


@contextmanager
def student_kernel():
    """A kernel in the release folder whose environment holds no TensorFlow setting.

    Without PYTEST_CURRENT_TEST, the kernel forwards what C++ code writes to its stderr to the
    notebook, as it does in JupyterLab (ipykernel does not under pytest).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_") and k != "PYTEST_CURRENT_TEST"}
    client = NotebookClient(nbformat.v4.new_notebook(), timeout=300, kernel_name="python3",
                            allow_errors=True, resources={"metadata": {"path": str(RELEASE)}})
    with client.setup_kernel(env=env):
        yield Kernel(client)


def error_lines(outputs: list) -> list[str]:
    """The lines JupyterLab shows for the error of a cell (its ``traceback`` field)."""
    errors = [o for o in outputs if o.output_type == "error"]
    assert len(errors) == 1, f"expected one error, got outputs {outputs}"
    return ANSI.sub("", "\n".join(errors[0].traceback)).splitlines()


def stderr_text(outputs: list) -> str:
    return "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")


@pytest.fixture(scope="module")
def checks_kernel():
    """A kernel with exercise 1's visible checks imported (no TensorFlow: the stopping-rule check needs none)."""
    with student_kernel() as kernel:
        assert not kernel.run("from gdkit.checks import linear_system as checks")
        yield kernel


def test_a_failing_visible_check_shows_only_its_bilingual_message(checks_kernel):
    checks_kernel.run("def should_stop(loss, previous_loss, tol):\n"
                      "    return abs(loss - previous_loss) > tol\n")
    lines = error_lines(checks_kernel.run(test_cell("01_linear_system", "early_stopping_rule")))
    text = "\n".join(lines)
    assert len(lines) <= 6, text
    # the first epoch (previous loss math.inf) must not stop; the reversed rule stops there
    zh = next(i for i, ln in enumerate(lines) if "應為 False,卻得到 True" in ln)
    en = next(i for i, ln in enumerate(lines) if "should be False, got True" in ln)
    assert zh < en, text
    assert "|loss − previous_loss| < tol" in text
    assert "gdkit" not in text and "Traceback" not in text, text


def test_an_error_in_the_students_function_shows_the_students_line(checks_kernel):
    checks_kernel.run("def should_stop(loss, previous_loss, tol):\n"
                      "    change = loss - previous_loss\n"
                      "    return change.numpy() < tol\n")
    lines = error_lines(checks_kernel.run(test_cell("01_linear_system", "early_stopping_rule")))
    text = "\n".join(lines)
    assert len(lines) <= 6, text
    assert "AttributeError: 'float' object has no attribute 'numpy'" in text
    assert re.search(r"Cell In\[\d+\], line 3, in should_stop", text), text
    assert "return change.numpy() < tol" in text
    assert "gdkit" not in text and "Traceback" not in text, text


def setup_sources(notebook: str) -> list[str]:
    """The released code cells before the first answer cell (what a student runs first), then a pause:
    what C++ code writes to the kernel's stderr reaches the notebook a moment later, in the cell then running.
    """
    sources = []
    for cell in release_cells(notebook):
        if cell.metadata.get("nbgrader", {}).get("solution"):
            break
        if cell.cell_type == "code":
            sources.append(cell.source)
    return [*sources, "import time\ntime.sleep(2)"]


@pytest.fixture(scope="module")
def linear_system_kernel():
    """A kernel that ran exercise 1's first cells; yields it and the stderr they wrote."""
    with student_kernel() as kernel:
        yield kernel, "".join(stderr_text(kernel.run(src)) for src in setup_sources("01_linear_system"))


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_first_cells_start_tensorflow_without_log_lines_on_stderr(notebook, request):
    if notebook == "01_linear_system":
        _, stderr = request.getfixturevalue("linear_system_kernel")
    else:
        with student_kernel() as kernel:
            stderr = "".join(stderr_text(kernel.run(src)) for src in setup_sources(notebook))
    assert not TF_NOISE.search(stderr), stderr


@pytest.mark.slow
def test_a_tensorflow_error_in_the_students_loss_shows_their_line_not_the_framework(linear_system_kernel):
    kernel, _ = linear_system_kernel
    kernel.run("def linear_system_loss(A, b, v):\n"
               "    residuals = tf.matmul(A, v) - b\n"
               "    return tf.reduce_sum(residuals ** 2)\n")
    outputs = kernel.run(test_cell("01_linear_system", "linear_system_loss_value"))
    lines = error_lines(outputs)
    text = "\n".join(lines)
    # the verdict (✘ 未通過 / ✘ failed, a line per language), where and what in each language, the
    # student's line, the likely cause in each language
    assert len(lines) <= 7, text
    assert "InvalidArgumentError" in text
    assert re.search(r"Cell In\[\d+\], line 2, in linear_system_loss", text), text
    assert "residuals = tf.matmul(A, v) - b" in text
    for framework in ("{{function_node", "[Op:", "tf.Tensor", "tensorflow/", "gdkit", "Traceback"):
        assert framework not in text, text
    assert not TF_NOISE.search(stderr_text(outputs)), stderr_text(outputs)


@pytest.mark.slow
def test_a_loss_that_returns_nothing_is_named_as_a_missing_return(linear_system_kernel):
    kernel, _ = linear_system_kernel
    kernel.run("def linear_system_loss(A, b, v):\n"
               "    tf.reduce_sum(tf.square(tf.linalg.matvec(A, v) - b))\n")
    lines = error_lines(kernel.run(test_cell("01_linear_system", "linear_system_loss_value")))
    text = "\n".join(lines)
    assert len(lines) <= 6, text
    assert "是否忘了 `return`" in text and "did you forget `return`?" in text, text
    assert "gdkit" not in text and "Traceback" not in text, text


@pytest.mark.slow
def test_a_wrong_return_value_is_shown_as_a_number_not_a_tensor(linear_system_kernel):
    kernel, _ = linear_system_kernel
    kernel.run("def linear_system_loss(A, b, v):\n"
               "    return tf.reduce_sum(tf.square(tf.linalg.matvec(A, v) - b))\n\n\n"
               "def gradient_step(loss_fn, variables, optimizer):\n"
               "    with tf.GradientTape() as tape:\n"
               "        loss = loss_fn()\n"
               "    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))\n"
               "    return 2 * loss\n")
    text = "\n".join(error_lines(kernel.run(test_cell("01_linear_system", "gradient_step_matches_reference"))))
    assert "got 72538." in text and "卻回傳 72538。" in text, text
    assert "tf.Tensor" not in text and "numpy=" not in text, text


#: The checks that grade a whole run (training, solving, accuracy) rather than one function.
END_TO_END = {"01_linear_system": ("linear_systems_converge", "early_stopping_in_loop"),
              "02_mnist_gradient_tape": ("mlp_test_accuracy",),
              "03_logistic_regression": ("loss_decreases", "test_accuracy_reported", "logreg_test_accuracy")}
END_TO_END_LINE = ("# 端對端檢查:失敗時先看上面較早失敗的單元檢查 / end-to-end check: when it fails, "
                   "look first at the unit check above that failed first")


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_end_to_end_checks_say_so_and_only_they_do(notebook):
    saying = {c.metadata["nbgrader"]["grade_id"] for c in release_cells(notebook)
              if c.metadata.get("nbgrader", {}).get("grade") and END_TO_END_LINE in c.source.splitlines()}
    assert saying == set(END_TO_END[notebook])
