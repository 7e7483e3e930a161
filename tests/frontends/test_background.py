"""nbgrader's notebooks executed in the background (autograde/frontends/nbgrader/background.py): a result is handed
over only for the very notebook nbgrader passes, and runs nbgrader left are stopped."""

from __future__ import annotations

import threading
import time

import nbformat
import pytest
from nbclient.util import run_sync

from autograde import limits
from autograde.frontends.nbgrader import background
from autograde.grading.runner import GradingClient
from autograde.kernel import user as kernel_user
from autograde.kernel.manager import copy_private


def notebook(code: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code, id="cell-1")])


class Session:
    """Stands for a GradingSession: ``grade`` waits until released or stopped."""

    def __init__(self, fail: bool = False):
        self.release, self.started = threading.Event(), threading.Event()
        self.fail, self.graded, self.stopped = fail, [], None

    def grade(self, nb, resources):
        self.started.set()
        self.graded.append(nbformat.writes(nb))
        self.release.wait(10)
        if self.fail or self.stopped:
            raise RuntimeError(self.stopped or "the kernel died")
        nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
        return nb, resources

    def request_stop(self, why):
        self.stopped = why
        self.release.set()


@pytest.fixture(autouse=True)
def no_runs_left():
    yield
    background._drop_everything()


def test_the_run_of_the_notebook_nbgrader_passes_is_handed_over_executed():
    session = Session()
    background.schedule(("/course/autograded/ann/hw", "02"), notebook("x = 2"), {}, session, workers=1)
    session.release.set()
    run = background.take(("/course/autograded/ann/hw", "02"), notebook("x = 2"))
    assert run.refused is None and run.notebook.cells[0].outputs[0]["text"] == "ran\n"
    assert session.graded == [nbformat.writes(notebook("x = 2"))]
    assert background.take(("/course/autograded/ann/hw", "02"), notebook("x = 2")) is None, "handed over once"


def test_a_run_of_another_notebook_is_stopped_and_not_handed_over():
    session = Session()
    background.schedule(("/f", "02"), notebook("x = 2"), {}, session, workers=1)
    assert session.started.wait(10)
    assert "differs from the one nbgrader passed" in background.take(("/f", "02"), notebook("x = 3")).refused
    assert session.stopped and "different notebook" in session.stopped


def test_a_run_that_failed_is_not_handed_over():
    session = Session(fail=True)
    background.schedule(("/f", "02"), notebook("x = 2"), {}, session, workers=1)
    session.release.set()
    assert "background run failed (RuntimeError: the kernel died)" in background.take(("/f", "02"), notebook("x = 2")).refused


def test_runs_of_a_submission_nbgrader_left_are_stopped_and_those_queued_never_run():
    running, queued = Session(), Session()
    background.schedule(("/ann", "02"), notebook("a"), {}, running, workers=1)
    background.schedule(("/ann", "03"), notebook("b"), {}, queued, workers=1)
    assert running.started.wait(10)
    background.drop_all_but("/bob")
    assert running.stopped and "another submission" in running.stopped
    assert not background.scheduled(("/ann", "03"))
    time.sleep(0.5)  # the worker is free again: the dropped run stays unexecuted
    assert queued.graded == [] and not queued.started.is_set()


def test_the_kernels_copy_of_its_folder_holds_no_notebook(tmp_path):
    """nbgrader writes each notebook into the folder as it grades it: the copy never shows them,
    so a kernel sees the same folder whichever notebook was graded first."""
    origin = tmp_path / "autograded"
    (origin / "data").mkdir(parents=True)
    for name in ("01_linear_system.ipynb", "data/extra.ipynb", "data/points.csv", "notes.txt"):
        (origin / name).write_text("{}", encoding="utf-8")
    copy_private(origin, tmp_path / "work")
    assert sorted(str(p.relative_to(tmp_path / "work")) for p in (tmp_path / "work").rglob("*")) == [
        "data", "data/points.csv", "notes.txt"]


class Client(GradingClient):
    async def async_start_new_kernel(self, **kwargs):
        await super().async_start_new_kernel(**kwargs)
        self.uid = self.km.user.uid

    start_new_kernel = run_sync(async_start_new_kernel)


def test_a_stop_asked_before_the_kernel_exists_stops_it_once_it_answers_and_leaves_no_process(
        tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "DISK_CHECK_SECONDS", 0.01)  # the watchdog looks as the kernel starts
    client = Client(timeout=60, allow_errors=True)
    client.request_stop("stopped: nbgrader moved on")  # before the session has a kernel
    nb = notebook("import time\ntime.sleep(50)")
    start = time.perf_counter()
    client.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert time.perf_counter() - start < 40, "the kernel was stopped, not left to run its cell"
    assert client.stopped_because == "not run: stopped: nbgrader moved on"
    if client.uid is not None:  # killed while it started, bubblewrap can leave its sandbox running
        time.sleep(1)
        assert kernel_user._processes_of(client.uid, None) == []
