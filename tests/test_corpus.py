"""Broken and hostile submissions cost only their own points, under both front ends.

The corpus (tests/corpus.py) is graded once by the class grader (two at a time, each in its
own kernel) and once by ``nbgrader autograde``, with a per-cell limit of 20 s.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading

import pytest

from autograde import course as nbg
from autograde.sandbox import probe
from tests.conftest import run_class
from tests.corpus import CASES, CELL_TIMEOUT, build_case, path_of

pytestmark = pytest.mark.slow
IDS = [c.name for c in CASES]


@pytest.fixture(scope="module")
def corpus_folder(tmp_path_factory):
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


@pytest.fixture(scope="module")
def pytest_corpus(corpus_folder, tmp_path_factory):
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in corpus_folder.iterdir()}
    canary = tmp_path_factory.mktemp("canary") / "gradebook.db"
    canary.write_text("grades of the whole class", encoding="utf-8")
    listener = Listener()
    try:
        run = run_class(corpus_folder, tmp_path_factory.mktemp("corpus-results"), "--jobs", "2",
                        "--cell-timeout", str(CELL_TIMEOUT),
                        env={"GD_CANARY": str(canary), "GD_CANARY_PORT": str(listener.port)})
    finally:
        listener.close()
    assert run.returncode == 0, run.output
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in corpus_folder.iterdir()}
    assert after == before, "grading modified a submission"
    run.canary_text = canary.read_text(encoding="utf-8")
    run.connections = listener.received
    return run


def require_sandbox(case):
    if case.needs_sandbox and not probe()[0] and os.environ.get("GD_REQUIRE_SANDBOX") != "1":
        pytest.skip(f"needs bubblewrap: {probe()[1]}")


@pytest.fixture(scope="module")
def nbgrader_corpus(tmp_path_factory):
    course = nbg.make_course(tmp_path_factory.mktemp("corpus-course"))
    nbg.generate_release(course)
    for case in CASES:
        nbg.submit(course, case.name, {case.notebook: path_of(case)})
    nbg.autograde(course, options=(f"--Execute.timeout={CELL_TIMEOUT}",), check=False)
    return nbg.gradebook_scores(course)


def test_corpus_notebooks_match_what_the_spec_writes():
    import nbformat

    for case in CASES:
        assert nbformat.read(path_of(case), as_version=4) == build_case(case), (
            f"{path_of(case)} is stale: run `python -m tests.corpus`")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pytest_graders_give_the_expected_points_and_say_why(case, pytest_corpus):
    require_sandbox(case)
    summary = pytest_corpus.summary(case.name)
    nb = next(n for n in summary["notebooks"] if n["notebook"] == case.notebook)
    got = {c["grade_id"]: c["points"] for c in nb["checks"]}
    assert got == case.points, [c["message"] for c in nb["checks"] if c["points"] == 0]
    messages = {c["grade_id"]: c["message"] for c in nb["checks"]}
    for grade_id, phrase in case.message.items():
        assert phrase in messages[grade_id], messages[grade_id]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_nbgrader_gives_the_expected_points(case, nbgrader_corpus):
    want = case.nbgrader_points if case.nbgrader_points is not None else case.points
    got = nbgrader_corpus.get(case.name, {})
    assert {gid: got.get(gid, 0.0) for gid in want} == pytest.approx(want)


def test_every_other_student_is_graded_and_reported(pytest_corpus):
    rows = {r["student"]: r for r in pytest_corpus.csv()}
    assert sorted(rows) == sorted(IDS)
    assert all(r["status"] != "not graded" for r in rows.values())


def test_sandboxed_kernels_never_touch_files_outside_or_reach_the_network(pytest_corpus):
    if not probe()[0] and os.environ.get("GD_REQUIRE_SANDBOX") != "1":
        pytest.skip(f"needs bubblewrap: {probe()[1]}")
    assert pytest_corpus.canary_text == "grades of the whole class"
    assert pytest_corpus.connections == []
    isolation = pytest_corpus.summary("writes_outside_its_folder")["notebooks"][0]["isolation"]
    assert "bubblewrap" in isolation
