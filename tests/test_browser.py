"""A student's session in JupyterLab, in a real browser (Debian's Chromium driven by Playwright).

The released assignment folder (notebooks and ``gdkit/``) is copied into a fresh course folder
and served by ``jupyter lab`` from this venv, with nbgrader's lab extension enabled. What the
student sees, step by step (a screenshot of each goes to ``test-artifacts/browser/``):

1. ``01-release-run-all.png``: the released exercise 1, untouched, after Run > Run All Cells.
   The setup cell ran (TensorFlow imported, no crash); the first visible check stops with a
   bilingual message that the function "is not written yet"; the kernel is idle and alive.
2. ``02-release-validate.png``: nbgrader's Validate button on that notebook reports failure.
3. ``03-solved-run-all.png``: a solved copy of the same notebook after Run All: every cell
   ran, every visible check prints "passed", no cell shows an error, the kernel is idle.
4. ``04-solved-validate.png``: Validate on the solved copy reports success.

Needs /usr/bin/chromium (``apt-get install -y chromium``) and Playwright (``pip install -e
'.[dev]'``); without them the test fails and says how to install them. It takes about a minute.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import browser as lab_ui
from tests.browser import JupyterLab

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "release" / "gd_applications"
SOLUTION = ROOT / "tests" / "submissions" / "01_linear_system" / "solution.ipynb"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
RELEASED, SOLVED = "01_linear_system.ipynb", "01_linear_system_solved.ipynb"
SCREENSHOTS = ["01-release-run-all.png", "02-release-validate.png",
               "03-solved-run-all.png", "04-solved-validate.png"]
STUB_ERRORS = ("NotImplementedError", "not written yet")

# Locked cells of exercise 1, found by a piece of their source.
SETUP_CELL = "quiet_tensorflow()"
VISIBLE_CHECKS = ["checks.check_loss_known_points", "checks.check_step_lowers_loss",
                  "checks.check_stop_rule_examples"]


@pytest.fixture
def page() -> Iterator:
    """A headless Chromium page; fails (never skips) when the browser or Playwright is missing."""
    if not lab_ui.CHROMIUM.exists():
        pytest.fail(f"{lab_ui.CHROMIUM} is missing.\n{lab_ui.INSTALL_HINT}", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(f"Playwright is not installed.\n{lab_ui.INSTALL_HINT}", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(lab_ui.CHROMIUM), headless=True,
                                              args=lab_ui.CHROMIUM_ARGS)
        try:
            tab = chromium.new_page(viewport={"width": 1280, "height": 900})
            tab.set_default_timeout(lab_ui.UI_TIMEOUT_MS)
            yield tab
        finally:
            chromium.close()


@pytest.fixture
def course(tmp_path) -> Path:
    """What a student downloads (notebooks and gdkit/), plus a solved copy of exercise 1."""
    folder = tmp_path / "course"
    shutil.copytree(RELEASE, folder, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    shutil.copyfile(SOLUTION, folder / SOLVED)
    return folder


@pytest.fixture
def jupyter_lab(course, tmp_path) -> Iterator[JupyterLab]:
    """``jupyter lab`` serving the course folder with nbgrader enabled; always stopped at the end."""
    env = lab_ui.lab_environment(tmp_path / "home")
    nbgrader = lab_ui.nbgrader_labextension(env)
    assert "enabled" in nbgrader and "OK" in nbgrader, nbgrader
    server = lab_ui.start_jupyter_lab(course, tmp_path / "home", env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name in [*SCREENSHOTS, "failure.png", "failure-jupyter-lab.log"]:
        (ARTIFACTS / name).unlink(missing_ok=True)
    return ARTIFACTS


def assert_kernel_alive(page, server: JupyterLab) -> None:
    dialogs = lab_ui.open_dialogs(page)
    assert not dialogs, f"a dialog is open after Run All (dead kernel?): {dialogs}"
    states = [kernel["execution_state"] for kernel in server.kernels()]
    assert states == ["idle"], f"expected one idle kernel, got {states}"


def run_released_notebook(page, server: JupyterLab, shot: Path) -> None:
    lab_ui.open_notebook(page, server, RELEASED, workspace="release")
    lab_ui.run_all(page)
    setup = lab_ui.prompt_of(lab_ui.cell_with(page, SETUP_CELL))
    assert setup == "[1]:", f"the setup cell did not run first: {setup} {lab_ui.prompts(page)}"
    errors = lab_ui.error_outputs(page)
    assert errors, "the untouched notebook ran without any error"
    for error in errors:
        assert any(stub in error for stub in STUB_ERRORS), f"unexpected error: {error}"
    first_check = lab_ui.cell_with(page, VISIBLE_CHECKS[0])
    assert any(stub in lab_ui.outputs_of(first_check) for stub in STUB_ERRORS), "first check did not fail"
    assert_kernel_alive(page, server)
    lab_ui.screenshot(page, shot, show=first_check)


def run_solved_notebook(page, server: JupyterLab, shot: Path) -> None:
    lab_ui.open_notebook(page, server, SOLVED, workspace="solved")
    lab_ui.run_all(page)
    prompts = lab_ui.prompts(page)
    assert all(p[1:-2].isdigit() for p in prompts), f"not every code cell ran: {prompts}"
    stderr = lab_ui.error_outputs(page)
    assert stderr == [], f"the solved notebook wrote errors or warnings: {stderr}"
    for source in VISIBLE_CHECKS:
        check = lab_ui.cell_with(page, source)
        assert "passed" in lab_ui.outputs_of(check), source
        assert check.locator(lab_ui.ERROR_OUTPUT).count() == 0, source
    assert_kernel_alive(page, server)
    lab_ui.screenshot(page, shot, show=lab_ui.cell_with(page, VISIBLE_CHECKS[-1]))


def validate(page, shot: Path) -> str:
    """Click Validate, screenshot the dialog, close it; return "<result class>: <message>"."""
    css_class, text = lab_ui.validate(page)
    lab_ui.screenshot(page, shot)
    lab_ui.close_dialog(page)
    return f"{css_class}: {text}"


@pytest.mark.slow
def test_student_runs_and_validates_exercise_1_in_jupyterlab(page, jupyter_lab, artifacts):
    with lab_ui.evidence_on_failure(page, jupyter_lab, artifacts):
        run_released_notebook(page, jupyter_lab, artifacts / SCREENSHOTS[0])
        result = validate(page, artifacts / SCREENSHOTS[1])
        assert result.startswith("validation-failed"), result

        jupyter_lab.shut_down_kernels()  # one TensorFlow kernel at a time on two cores
        run_solved_notebook(page, jupyter_lab, artifacts / SCREENSHOTS[2])
        result = validate(page, artifacts / SCREENSHOTS[3])
        assert result.startswith("validation-success"), result
