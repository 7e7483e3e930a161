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

Set up as the student README says (its ``jupyter ... disable`` lines), JupyterLab shows no
nbgrader menu, only the Validate button, and the server neither loads nbgrader's instructor
extensions nor logs "No nbgrader_config.py file found" (the assignment folder ships one, which
gives Validate the course's time limit per cell).

What the instructor and the student see of a hostile student's output (the corpus notebook
``displays_script_in_every_output_kind``: script in every output kind, raw HTML in markdown, an
SVG attachment, widget state), graded once by ``nbgrader autograde`` and ``generate_feedback``:

5. ``05-feedback.png``: the feedback page, served over HTTP by a recorder. No payload ran: none
   marked ``window.__pwned`` or the title, none requested ``/gd-pwned/…`` or wrote through
   ``/api/contents``. The control: the same outputs rendered by nbconvert with no defence run
   (each payload listed in ``FIRES_UNDEFENDED``), and the canary run by the test in the page works.
6. ``06-formgrader.png``: the formgrader's page of that submission, on the instructor's Jupyter
   server: the formgrader's own scripts ran, no payload did (the server's log has no
   ``/gd-pwned/`` request, no ``gd-pwned-*.txt`` file appeared); the canary run by the test in the
   page creates its file through the REST API — what a payload would have done.
   Its Manage Assignments page lists the assignment and warns of nothing (the course configures
   an exchange that exists).

Needs /usr/bin/chromium (``apt-get install -y chromium``) and Playwright (``pip install -e
'.[dev]'``); without them the test fails and says how to install them. The student's session
takes about a minute, the hostile notebook about 50 s (grading it is most of that).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from autograde.frontends.nbgrader import course as nbg
from tests import browser as lab_ui
from tests import requirements
from tests.browser import JupyterLab
from tests.corpus import CASES, PAYLOADS, RESULT_PAYLOAD, STREAM_PAYLOAD, UPDATE_PAYLOAD, canary, path_of

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "release" / "gd_applications"
SOLUTION = ROOT / "tests" / "submissions" / "01_linear_system" / "solution.ipynb"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
RELEASED, SOLVED = "01_linear_system.ipynb", "01_linear_system_solved.ipynb"
SCREENSHOTS = ["01-release-run-all.png", "02-release-validate.png",
               "03-solved-run-all.png", "04-solved-validate.png", "05-feedback.png", "06-formgrader.png"]
STUB_ERRORS = ("NotImplementedError", "not written yet")

# Locked cells of exercise 1, found by a piece of their source.
SETUP_CELL = "quiet_tensorflow()"
VISIBLE_CHECKS = ["checks.check_loss_known_points", "checks.check_step_lowers_loss",
                  "checks.check_stop_rule_examples"]


@pytest.fixture
def page() -> Iterator:
    """A headless Chromium page; fails (never skips) when the browser or Playwright is missing."""
    requirements.need_browser()
    from playwright.sync_api import sync_playwright

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
    """``jupyter lab`` serving the course folder with nbgrader's student part enabled (the rest
    disabled as the student README says); always stopped at the end."""
    env = lab_ui.lab_environment(tmp_path / "home")
    nbgrader = lab_ui.nbgrader_labextension(env)
    assert "enabled" in nbgrader and "OK" in nbgrader, nbgrader
    assert lab_ui.hide_instructor_extensions(course / "README.md", env), "the README disables nothing"
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


#: nbgrader's instructor parts, which a student's JupyterLab must not load or show.
INSTRUCTOR_EXTENSIONS = ("formgrader", "course_list", "assignment_list")


def assert_no_instructor_menus(page) -> None:
    menu_bar = page.locator("#jp-MainMenu")
    assert menu_bar.get_by_role("menuitem", name="Run", exact=True).count() == 1, "no menu bar to look at"
    assert menu_bar.get_by_role("menuitem", name="Nbgrader").count() == 0, "nbgrader's menu is shown"
    assert page.locator(lab_ui.VALIDATE_BUTTON).count() == 1, "the Validate button is missing"


def assert_no_nbgrader_noise(server: JupyterLab) -> None:
    """The server loaded only nbgrader's Validate and found the assignment's nbgrader_config.py."""
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert "validate_assignment | extension was successfully loaded" in log, log
    assert "No nbgrader_config.py" not in log, log
    loaded = [name for name in INSTRUCTOR_EXTENSIONS if name in log]
    assert not loaded, f"nbgrader's instructor extensions were loaded: {loaded}"


@pytest.mark.slow
@pytest.mark.browser
def test_student_runs_and_validates_exercise_1_in_jupyterlab_without_instructor_menus(page, jupyter_lab, artifacts):
    with lab_ui.evidence_on_failure(page, jupyter_lab, artifacts):
        run_released_notebook(page, jupyter_lab, artifacts / SCREENSHOTS[0])
        assert_no_instructor_menus(page)
        result = validate(page, artifacts / SCREENSHOTS[1])
        assert result.startswith("validation-failed"), result

        jupyter_lab.shut_down_kernels()  # one TensorFlow kernel at a time on two cores
        run_solved_notebook(page, jupyter_lab, artifacts / SCREENSHOTS[2])
        result = validate(page, artifacts / SCREENSHOTS[3])
        assert result.startswith("validation-success"), result
        assert_no_nbgrader_noise(jupyter_lab)


def test_validate_button_gives_each_cell_the_courses_cell_limit(tmp_path, monkeypatch):
    """The configuration nbgrader's Validate handler loads in a server started in the released
    folder (its ``load_config``: that folder, then the Jupyter config folders) sets the time
    limit of each cell to the course's, not nbgrader's 30 s."""
    from nbgrader.preprocessors import Execute
    from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler
    from nbgrader.validator import Validator

    from autograde import limits

    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.chdir(RELEASE)
    config = ValidateAssignmentHandler.load_config(None)  # uses no state of the handler
    assert Execute(parent=Validator(config=config)).timeout == limits.CELL_TIMEOUT


# --- a hostile student's output in the instructor's viewers -------------------------------------

HOSTILE = next(c for c in CASES if c.name == "displays_script_in_every_output_kind")
STUDENT = "mallory"
#: Payloads that run when nbconvert renders the student's outputs with no defence (measured:
#: an SVG output is shown as an image, the ``isolated`` frame cannot reach the page, a link, a
#: MathJax link, a terminal hyperlink need a click, a widget view needs its manager from a CDN).
FIRES_UNDEFENDED = {"html_script", "html_img_onerror", "html_svg_onload", "html_iframe_srcdoc",
                    "html_details_ontoggle", "html_remote_image", "javascript", "markdown_output",
                    "image_metadata", "update_display", "execute_result", "markdown_cell_img",
                    "markdown_cell_script", "markdown_remote_image"}
#: The classic template's ``application/javascript`` code calls jQuery, from a CDN: offline, a stub.
JQUERY_STUB = "window.$ = window.jQuery = function () { return {}; };"
#: What nbconvert's own sanitizing (``HTMLExporter.sanitize_html``) lets through, measured: it
#: never looks at an image's metadata (``width=1 onload=…``). nbgrader's feedback and formgrade
#: templates render markdown cells without it, too. The graded notebook itself must be inert.
SANITIZING_MISSES = {"image_metadata"}
CANARY = re.compile(r"gd-pwned[-/]([A-Za-z_]+)")


@pytest.fixture(scope="module")
def hostile_course(tmp_path_factory) -> Path:
    """A course where ``nbgrader autograde`` graded the hostile notebook (once) and
    ``generate_feedback`` wrote its page."""
    course = nbg.make_course(tmp_path_factory.mktemp("hostile") / "course")
    nbg.generate_release(course)
    nbg.submit(course, STUDENT, {HOSTILE.notebook: path_of(HOSTILE)})
    nbg.autograde(course, STUDENT)
    nbg.generate_feedback(course)
    scores = nbg.gradebook_scores(course)[STUDENT]
    assert {grade_id: scores[grade_id] for grade_id in HOSTILE.points} == pytest.approx(HOSTILE.points)
    return course


def course_config(course: Path):
    """The configuration nbgrader's feedback and formgrader exporters read (the course's nbgrader_config.py)."""
    from traitlets.config import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()


def control_page(path: Path, config=None) -> Path:
    """The hostile notebook with the outputs its code displays, as the kernel sends them (nothing made
    inert), rendered by nbconvert's HTMLExporter with ``config`` (default: none, no sanitizing)."""
    from nbconvert import HTMLExporter

    nb = nbformat.read(path_of(HOSTILE), as_version=4)
    cell = next(c for c in nb.cells if c.get("id") == "added-by-student")
    cell.outputs = [nbformat.v4.new_output("display_data", data=data, metadata=meta) for data, meta in PAYLOADS.values()]
    cell.outputs += [nbformat.v4.new_output("display_data", data=UPDATE_PAYLOAD),
                     nbformat.v4.new_output("stream", name="stdout", text=STREAM_PAYLOAD),
                     nbformat.v4.new_output("execute_result", data=RESULT_PAYLOAD, execution_count=2)]
    body, _ = HTMLExporter(config=config, template_name="classic").from_notebook_node(nb)
    path.write_text(body, encoding="utf-8")
    return path


def fired(page, recorder) -> set[str]:
    """The payloads that marked the page or reached the recorder."""
    return lab_ui.marks_in_page(page) | {m for _, path in recorder.requests for m in CANARY.findall(path)}


def settle(page) -> None:
    page.wait_for_load_state("networkidle")


@pytest.mark.slow
@pytest.mark.browser
def test_no_student_script_runs_in_the_feedback_page(page, hostile_course, artifacts):
    feedback = hostile_course / "feedback" / STUDENT / nbg.ASSIGNMENT
    control_page(feedback / "undefended.html")
    control_page(feedback / "sanitized.html", course_config(hostile_course))
    lab_ui.offline(page)
    page.add_init_script(JQUERY_STUB)
    recorder = lab_ui.Recorder(feedback)
    try:
        with lab_ui.evidence_on_failure(page, None, artifacts):
            page.goto(recorder.url("undefended.html"))
            settle(page)
            missing = FIRES_UNDEFENDED - fired(page, recorder)
            assert not missing, f"these payloads never run, even with no defence: {sorted(missing)}"

            page.goto("about:blank")
            recorder.requests.clear()
            page.goto(recorder.url("sanitized.html"))
            settle(page)
            assert fired(page, recorder) == SANITIZING_MISSES, "nbconvert's sanitizing is not configured as measured"

            page.goto("about:blank")
            recorder.requests.clear()
            page.goto(recorder.url(f"{HOSTILE.notebook}.html"))
            settle(page)
            assert fired(page, recorder) == set()
            assert "html-manager" not in page.content(), "the widget manager is loaded from student metadata"
            lab_ui.screenshot(page, artifacts / SCREENSHOTS[4], show=page.get_by_text("My notes on the linear system."))

            lab_ui.run_as_page_script(page, canary("control"))  # the test's own script, in that page
            assert lab_ui.wait_for(page, lambda: ("PUT", "/api/contents/gd-pwned-control.txt") in recorder.requests), (
                f"the canary did not reach the recorder: {recorder.requests}")
            assert fired(page, recorder) == {"control"}
    finally:
        recorder.close()


@pytest.mark.slow
@pytest.mark.browser
def test_no_student_script_runs_in_the_formgrader(page, hostile_course, tmp_path, artifacts):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hostile_course / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(HOSTILE.notebook, nbg.ASSIGNMENT, STUDENT).id
    env = lab_ui.lab_environment(tmp_path / "home")
    server = lab_ui.start_jupyter_lab(hostile_course, tmp_path / "home", env)
    lab_ui.offline(page)

    def written() -> set[str]:
        """Payloads the server saw: a request in its log, a file made through its contents API."""
        files = {m for p in hostile_course.glob("gd-pwned-*") for m in CANARY.findall(p.name)}
        return files | set(CANARY.findall(server.log.read_text(encoding="utf-8", errors="replace")))

    try:
        with lab_ui.evidence_on_failure(page, server, artifacts):
            page.goto(f"{server.base_url}/api/status?token={server.token}")  # logged in, as the instructor is
            page.goto(f"{server.base_url}/formgrader/submissions/{submission}/")
            settle(page)
            assert page.evaluate("typeof window.formgrader") == "object", "the formgrader's own scripts did not run"
            assert page.evaluate("window.submission_id") == submission
            assert lab_ui.marks_in_page(page) | written() == set()
            assert "html-manager" not in page.content()
            assert "mathjax" not in " ".join(page.eval_on_selector_all("script[src]", "s => s.map(e => e.src)")).lower()
            assert page.locator("math").count() > 0, "the notebook's formulas are not MathML"
            lab_ui.screenshot(page, artifacts / SCREENSHOTS[5], show=page.locator(".output_area").first)

            lab_ui.run_as_page_script(page, canary("control"))  # what a payload would do, run by the test
            assert lab_ui.wait_for(page, lambda: (hostile_course / "gd-pwned-control.txt").exists()), (
                "the canary cannot reach the contents API: this test would pass whatever the defence")
            assert lab_ui.wait_for(page, lambda: "/gd-pwned/control" in server.log.read_text(encoding="utf-8"))
            assert lab_ui.marks_in_page(page) | written() == {"control"}

            page.goto(f"{server.base_url}/formgrader/manage_assignments")  # the course's exchange is found
            settle(page)
            assert page.get_by_text(nbg.ASSIGNMENT).count() >= 1, "the assignment is not listed"
            warnings = page.locator(".alert-warning").all_text_contents()
            assert warnings == [], f"the formgrader warns: {warnings}"
            assert "not serializable" not in server.log.read_text(encoding="utf-8"), "the formgrader logs a warning"
            assert server.token not in page.content(), "the page shows the server's configuration"
    finally:
        server.stop()
