"""nbgrader's exchange round trip on this course, with a local exchange root (README: "Exchange
round trip").

The instructor releases from a copy of the session's course (its release is generated once);
two students, each with a home folder and a per-user ``~/.jupyter/nbgrader_config.py`` as the
README shows, fetch and submit: alice her solved exercise 1 and the two other notebooks untouched,
bob the release untouched. The instructor collects both, autogrades and returns feedback to alice
only (one submission graded: the test's cost), and each student fetches feedback. Everything runs
as root here, so each student's config names the student (``CourseDirectory.student_id``); on a
real machine nbgrader takes the account's name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograde.assignment.registry import ASSIGNMENT
from autograde.frontends.nbgrader import course as nbg

ROOT = Path(__file__).resolve().parents[2]
SOLVED_1 = ROOT / "tests" / "submissions" / "01_linear_system" / "solution.ipynb"
NOTEBOOKS = ("01_linear_system", "02_mnist_gradient_tape", "03_logistic_regression")
COURSE_ID = "gd_applications_course"

#: A student's ``~/.jupyter/nbgrader_config.py``, as in the README (plus the student id).
STUDENT_CONFIG = '''c = get_config()
c.CourseDirectory.course_id = "{course_id}"
c.Exchange.root = "{exchange}"
c.Execute.timeout = 300
c.CourseDirectory.student_id = "{student}"
'''


@dataclass
class RoundTrip:
    course: Path
    exchange: Path
    homes: dict[str, Path]
    logs: dict[str, str]


def as_student(home: Path, *args: str) -> str:
    """``nbgrader ARGS`` run by a student in their home folder, with their own Jupyter folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "GD_GRADING_"))}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    proc = subprocess.run([sys.executable, "-m", "autograde.frontends.nbgrader.cli", *args], cwd=home, env=env,
                          capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} as {home.name} failed:\n{log}"
    return log


@pytest.fixture(scope="module")
def round_trip(course, tmp_path_factory) -> RoundTrip:
    base = tmp_path_factory.mktemp("exchange")
    mine = base / "course"
    shutil.copytree(course, mine, ignore=shutil.ignore_patterns(
        "submitted", "autograded", "feedback", "exchange", "__pycache__", ".ipynb_checkpoints"))
    exchange = base / "srv-exchange"
    exchange.mkdir(mode=0o1777)
    os.environ["GD_GRADING_EXCHANGE"] = str(exchange)  # the instructor's nbgrader (autograde.frontends.nbgrader.course)
    logs: dict[str, str] = {}
    homes = {}
    try:
        logs["release"] = nbg.nbgrader(mine, "release_assignment", ASSIGNMENT)
        for student in ("alice", "bob"):
            home = homes[student] = base / "home" / student
            (home / ".jupyter").mkdir(parents=True)
            (home / ".jupyter" / "nbgrader_config.py").write_text(
                STUDENT_CONFIG.format(course_id=COURSE_ID, exchange=exchange, student=student), encoding="utf-8")
            logs[f"{student} fetch"] = as_student(home, "fetch_assignment", ASSIGNMENT)
        shutil.copyfile(SOLVED_1, homes["alice"] / ASSIGNMENT / "01_linear_system.ipynb")
        for student, home in homes.items():
            logs[f"{student} submit"] = as_student(home, "submit", ASSIGNMENT)
        logs["collect"] = nbg.nbgrader(mine, "collect", ASSIGNMENT)
        logs["autograde"] = nbg.autograde(mine, "alice")
        logs["feedback"] = nbg.nbgrader(mine, "generate_feedback", ASSIGNMENT, "--student", "alice")
        logs["release_feedback"] = nbg.nbgrader(mine, "release_feedback", ASSIGNMENT, "--student", "alice")
        for student, home in homes.items():
            logs[f"{student} fetch_feedback"] = as_student(home, "fetch_feedback", ASSIGNMENT)
    finally:
        os.environ.pop("GD_GRADING_EXCHANGE", None)
    return RoundTrip(mine, exchange, homes, logs)


def fetched_feedback(home: Path) -> dict[str, Path]:
    """The feedback pages a student fetched, by notebook (``~/<assignment>/feedback/<time>/``)."""
    return {page.stem: page for page in (home / ASSIGNMENT / "feedback").glob("*/*.html")}


@pytest.mark.slow
def test_each_student_fetches_the_release_and_the_instructor_collects_both(round_trip):
    for student, home in round_trip.homes.items():
        assert {p.stem for p in (home / ASSIGNMENT).glob("*.ipynb")} == set(NOTEBOOKS), student
        assert (home / ASSIGNMENT / "nbgrader_config.py").exists(), "the assignment's Validate settings"
        submitted = round_trip.course / "submitted" / student / ASSIGNMENT
        assert {p.stem for p in submitted.glob("*.ipynb")} == set(NOTEBOOKS), student
        assert (submitted / "timestamp.txt").exists(), student
    assert not (round_trip.course / "exchange").exists(), "the course's default exchange was used"


@pytest.mark.slow
def test_the_collected_submission_is_autograded_with_the_points_it_deserves(round_trip):
    scores = nbg.gradebook_scores(round_trip.course)["alice"]
    by_notebook = {nb: sum(v for k, v in scores.items() if k in nbg_ids(round_trip.course, nb)) for nb in NOTEBOOKS}
    assert by_notebook == {"01_linear_system": 10, "02_mnist_gradient_tape": 0, "03_logistic_regression": 0}


def nbg_ids(course: Path, notebook: str) -> set[str]:
    """The grade_ids of one notebook of the release."""
    import nbformat

    from autograde.assignment.notebook import check_id

    nb = nbformat.read(course / "release" / ASSIGNMENT / f"{notebook}.ipynb", as_version=4)
    return {grade_id for cell in nb.cells if (grade_id := check_id(cell))}


@pytest.mark.slow
def test_each_student_fetches_only_their_own_feedback(round_trip):
    pages = fetched_feedback(round_trip.homes["alice"])
    assert set(pages) == set(NOTEBOOKS), round_trip.logs["alice fetch_feedback"]
    assert "01_linear_system (Score: 10.0 / 10.0)" in pages["01_linear_system"].read_text(encoding="utf-8")
    assert fetched_feedback(round_trip.homes["bob"]) == {}, "bob was given feedback he was never released"


@pytest.mark.slow
def test_feedback_renders_math_without_any_remote_script(round_trip):
    for name, page in fetched_feedback(round_trip.homes["alice"]).items():
        html = page.read_text(encoding="utf-8")
        sources = re.findall(r"<script[^>]*\bsrc\s*=\s*[\"']?([^\"' >]+)", html, flags=re.I)
        assert not [s for s in sources if re.match(r"(https?:)?//", s)], f"{name}: remote scripts {sources}"
        assert not re.search(r"MathJax\.Hub|text/x-mathjax-config", html), f"{name} still configures MathJax"
        assert "<math" in html, f"{name}: no formula was rendered as MathML"
        assert not re.search(r"\$[^$<>\n]*\\(sum|frac|partial|text|qquad)", html), f"{name}: raw TeX left"


@pytest.mark.slow
def test_the_formgrader_finds_the_courses_exchange(round_trip, tmp_path):
    """What the formgrader's "Manage Assignments" page warns about (``NbGraderAPI.exchange_missing``),
    for the course as configured, in a process started in the course folder."""
    probe = ("from nbgrader.apps.baseapp import NbGrader\n"
             "from nbgrader.apps.api import NbGraderAPI\n"
             "from nbgrader.coursedir import CourseDirectory\n"
             "app = NbGrader(); app.load_config_file()\n"
             "api = NbGraderAPI(CourseDirectory(config=app.config), config=app.config)\n"
             "print(api.exchange_missing, api.exchange_root)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GD_GRADING_EXCHANGE")}
    env.update(JUPYTER_CONFIG_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", probe], cwd=round_trip.course, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    missing, root = proc.stdout.split()[-2:]
    assert (missing, root) == ("False", str(round_trip.course / "exchange")), proc.stdout + proc.stderr


def test_a_formula_becomes_mathml_that_links_nowhere():
    from autograde.frontends.nbgrader.feedback_math import render_math

    html = render_math(r"$L = \frac{1}{N}$ and $\href{javascript:alert(1)}{x}$")
    assert html.count("<math") == 2 and "<mfrac>" in html
    assert "href" not in html and "javascript" not in html


def test_a_students_markdown_made_inert_keeps_its_formulas_as_text():
    """Student markdown is one fenced block (autograde/grading/inert.py): its TeX stays characters."""
    from autograde.frontends.nbgrader.feedback_math import render_math
    from autograde.grading.inert import markdown

    for text in ["cost $5 and $x$", "a ``` b $y$ ```` c", "$$z$$\n\n`````\n\n$w$", "~~~\n$v$\n~~~ $u$"]:
        assert render_math(markdown(text)) == markdown(text), text
