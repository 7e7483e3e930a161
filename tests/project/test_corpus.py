"""Broken and hostile submissions cost only their own points, under both front ends.

The corpus (tests/corpus.py) is graded once by the class grader (two at a time, each in its
own kernel) and once by ``nbgrader autograde``, with the per-cell and per-notebook limits of
tests/corpus.py. Both get the same canaries: files and a folder outside the
work folder, and a TCP port on the grading machine's loopback.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from pathlib import Path

import pytest

from autograde.frontends.nbgrader import course as nbg
from tests.conftest import run_class
from tests.corpus import CASES, CELL_TIMEOUT, NOTEBOOK_TIMEOUT, build_case, path_of

pytestmark = pytest.mark.slow
IDS = [c.name for c in CASES]
#: The cases, those the sandbox defends marked ``sandbox`` (they skip, or fail under GD_REQUIRE_SANDBOX=1, without it).
BY_NEEDS = [pytest.param(c, marks=pytest.mark.sandbox) if c.needs_sandbox else c for c in CASES]


@pytest.fixture(scope="module")
def corpus_folder(tmp_path_factory, reference_runs):
    folder = tmp_path_factory.mktemp("corpus")
    for case in CASES:
        (folder / f"{case.name}.ipynb").write_bytes(path_of(case).read_bytes())
    return folder


class Listener:
    """A TCP server on the grading machine's loopback that records every connection it gets."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                self.received.append(conn.recv(1024))

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


class Canaries:
    """What a hostile submission may try to reach: a file to overwrite, a file and a folder to
    delete, a listening port. ``intact()`` lists what was harmed."""

    def __init__(self, folder):
        self.write = folder / "gradebook.db"
        self.write.write_text("grades of the whole class", encoding="utf-8")
        self.delete = folder / "grades.csv"
        self.delete.write_text("student,points", encoding="utf-8")
        self.folder = folder / "submitted"
        (self.folder / "bob").mkdir(parents=True)
        (self.folder / "bob" / "01_linear_system.ipynb").write_text("{}", encoding="utf-8")
        self.listener = Listener()
        self.env = {"GD_CANARY": str(self.write), "GD_CANARY_DELETE": str(self.delete),
                    "GD_CANARY_DIR": str(self.folder), "GD_CANARY_PORT": str(self.listener.port)}

    def close(self) -> list[str]:
        """Stop listening; what the submissions harmed (an empty list when nothing)."""
        self.listener.close()
        harmed = []
        if not self.write.exists() or self.write.read_text(encoding="utf-8") != "grades of the whole class":
            harmed.append(f"{self.write} was modified")
        if not self.delete.exists():
            harmed.append(f"{self.delete} was deleted")
        if not (self.folder / "bob" / "01_linear_system.ipynb").exists():
            harmed.append(f"{self.folder} was emptied")
        if self.listener.received:
            harmed.append(f"a submission connected to the host: {self.listener.received}")
        return harmed


def digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


@pytest.fixture(scope="module")
def pytest_corpus(corpus_folder, tmp_path_factory):
    before = digests(corpus_folder)
    canaries = Canaries(tmp_path_factory.mktemp("canary"))
    try:
        run = run_class(corpus_folder, tmp_path_factory.mktemp("corpus-results"), "--jobs", "2",
                        "--cell-timeout", str(CELL_TIMEOUT), "--notebook-timeout", str(NOTEBOOK_TIMEOUT),
                        env=canaries.env)
    finally:
        run_harmed = canaries.close()
    assert run.returncode == 0, run.output
    assert len(run.output) < 1_000_000, "a kernel's output flooded the class grader's log"
    assert digests(corpus_folder) == before, "grading modified a submission"
    run.harmed = run_harmed
    return run


#: A student whose notebook is over ``limits.NOTEBOOK_MAX_BYTES`` (graded by nbgrader with the corpus).
OVERSIZED = "oversized_notebook"


def oversized(folder: Path) -> Path:
    """The solution of 01 with a markdown cell that takes it past ``limits.NOTEBOOK_MAX_BYTES``."""
    import nbformat

    from autograde import limits
    from autograde.assignment.registry import SOURCES

    nb = nbformat.read(SOURCES["01_linear_system"], as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("x" * (limits.NOTEBOOK_MAX_BYTES + 1)))
    path = folder / "01_linear_system.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def nbgrader_corpus(tmp_path_factory):
    course = nbg.make_course(tmp_path_factory.mktemp("corpus-course"))
    nbg.generate_release(course)
    for case in CASES:
        nbg.submit(course, case.name, {case.notebook: path_of(case)})
    nbg.submit(course, OVERSIZED, {"01_linear_system": oversized(tmp_path_factory.mktemp("oversized"))})
    canaries = Canaries(tmp_path_factory.mktemp("canary"))
    try:
        with pytest.MonkeyPatch.context() as env:
            for key, value in canaries.env.items():
                env.setenv(key, value)
            nbg.autograde(course, options=(f"--Execute.timeout={CELL_TIMEOUT}",
                                           f"--GradingExecute.notebook_timeout={NOTEBOOK_TIMEOUT}"),
                          check=False)
    finally:
        harmed = canaries.close()
    return course, nbg.gradebook_scores(course), harmed


def test_nbgrader_reads_no_notebook_over_the_size_limit_and_says_so(nbgrader_corpus):
    course, scores, _ = nbgrader_corpus
    assert set(scores[OVERSIZED].values()) == {0.0}
    reports = nbg.cell_reports(course, OVERSIZED, "01_linear_system")
    assert reports and all("not graded" in r and "MiB a notebook may take" in r for r in reports.values()), reports


def test_corpus_notebooks_match_what_the_spec_writes():
    import nbformat

    for case in CASES:
        assert nbformat.read(path_of(case), as_version=4) == build_case(case), (
            f"{path_of(case)} is stale: run `python -m tests.corpus`")


def test_every_lost_point_has_an_expected_report_line():
    for case in CASES:
        lost = {gid for gid, points in case.points.items() if points == 0}
        assert set(case.message) == lost, f"{case.name}: give the report line of {sorted(lost)}"


@pytest.mark.parametrize("case", BY_NEEDS, ids=IDS)
def test_pytest_graders_give_the_expected_points_and_say_why(case, pytest_corpus):
    summary = pytest_corpus.summary(case.name)
    nb = next(n for n in summary["notebooks"] if n["notebook"] == case.notebook)
    got = {c["grade_id"]: c["points"] for c in nb["checks"]}
    assert got == case.points, [c["message"] for c in nb["checks"] if c["points"] == 0]
    messages = {c["grade_id"]: c["message"] for c in nb["checks"]}
    for grade_id, phrase in case.message.items():
        assert phrase in messages[grade_id], messages[grade_id]
    shown = json.dumps(summary, ensure_ascii=False)
    assert not [leak for leak in case.leaks if leak in shown], "hidden grader code reached the student"


@pytest.mark.parametrize("case", BY_NEEDS, ids=IDS)
def test_nbgrader_gives_the_expected_points_and_says_why(case, nbgrader_corpus):
    course, scores, _ = nbgrader_corpus
    got = scores.get(case.name, {})
    assert {gid: got.get(gid, 0.0) for gid in case.points} == pytest.approx(case.points)
    reports = nbg.cell_reports(course, case.name, case.notebook)
    for grade_id, phrase in case.message.items():
        assert phrase in reports[grade_id], reports[grade_id]
    graded = (course / "autograded" / case.name / nbg.ASSIGNMENT / f"{case.notebook}.ipynb").read_text("utf-8")
    assert not [leak for leak in case.leaks if leak in graded], "hidden grader code reached the graded notebook"


def test_every_other_student_is_graded_and_reported(pytest_corpus):
    rows = {r["student"]: r for r in pytest_corpus.csv()}
    assert sorted(rows) == sorted(IDS)
    assert all(r["status"] != "not graded" for r in rows.values())


def test_nbgrader_grades_every_student_of_the_corpus(nbgrader_corpus):
    course, scores, _ = nbgrader_corpus
    missing = [c.name for c in CASES if not (course / "autograded" / c.name / nbg.ASSIGNMENT
                                            / f"{c.notebook}.ipynb").exists()]
    assert missing == [], f"nbgrader dropped these notebooks: {missing}"
    assert sorted(scores) == sorted([*IDS, OVERSIZED])


@pytest.mark.sandbox
def test_sandboxed_pytest_graders_never_touch_files_outside_or_reach_the_network(pytest_corpus):
    assert pytest_corpus.harmed == []
    isolation = pytest_corpus.summary("writes_outside_its_folder")["notebooks"][0]["isolation"]
    assert "bubblewrap" in isolation


@pytest.mark.sandbox
def test_sandboxed_nbgrader_never_touches_files_outside_or_reaches_the_network(nbgrader_corpus):
    course, _, harmed = nbgrader_corpus
    assert harmed == []
    assert (course / "gradebook.db").stat().st_size > 0


def test_output_floods_are_cut_to_the_limits(nbgrader_corpus):
    from autograde import limits

    course, _, _ = nbgrader_corpus
    graded = course / "autograded" / "floods_the_output" / nbg.ASSIGNMENT / "01_linear_system.ipynb"
    assert graded.stat().st_size < limits.NOTEBOOK_OUTPUT_BYTES + 500_000
    assert "[output limit:" in graded.read_text("utf-8")


def test_nothing_a_kernel_left_behind_reaches_the_gradebook_or_the_feedback(nbgrader_corpus):
    course, scores, _ = nbgrader_corpus
    assert scores.get("links_its_folder_to_the_gradebook"), "the gradebook lost that student's grades"
    nbg.generate_feedback(course)
    left = [p for folder in ("autograded", "feedback") for p in (course / folder).rglob("*")
            if p.is_symlink() or "leak_solution" in p.name]
    assert left == [], f"files a kernel left behind reached the host: {left}"
    import sqlite3

    with sqlite3.connect(course / "gradebook.db") as db:
        assert db.execute("select count(*) from student").fetchone()[0] == len(CASES) + 1  # and OVERSIZED


def test_nbgrader_keeps_only_inert_output_of_the_hostile_notebook(nbgrader_corpus):
    """Graded with the whole class, the notebook that displays script in every output kind holds
    only text and images (autograde/grading/inert.py; the browser's view: tests/frontends/test_browser.py)."""
    import nbformat

    from tests.grading.test_inert import active, shown

    course, _, _ = nbgrader_corpus
    nb = nbformat.read(course / "autograded" / "displays_script_in_every_output_kind" / nbg.ASSIGNMENT
                       / "01_linear_system.ipynb", as_version=4)
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    kinds = {m for o in outs for m in o.get("data", {})}
    assert kinds <= {"text/plain", "text/html", "image/png", "image/jpeg"}, kinds
    assert active(shown(outs)) == [] and "widgets" not in nb.metadata
    student = next(c for c in nb.cells if c.get("id") == "markdown-by-student")
    from nbconvert.filters import markdown2html_mistune

    rendered = markdown2html_mistune(student.source)  # shown as its text: one code block
    assert active(rendered) == [] and "<img" not in rendered and "attachments" not in student
