"""Notebooks of a submission executed in the background while nbgrader grades the one before them.

nbgrader autogrades a submission's notebooks one after another, and each leaves the other core
idle. When nbgrader's Execute step (``autograde.frontends.nbgrader.execute.GradingExecute``) begins a
notebook, the notebooks nbgrader will grade after it in the same submission are sanitized as
nbgrader will sanitize them and scheduled (``schedule``): background threads (``workers`` of
them) execute each in a grading kernel of its own. When nbgrader reaches one of them, ``take`` hands over the
executed notebook only if the notebook nbgrader passes is, byte for byte, the one that was
executed; otherwise, or when the early run failed, nbgrader's step executes it then, as usual.

Which way a notebook ran cannot change its grade: the kernel works on a private copy of its
folder, and that copy never holds notebooks (``kernel.manager.copy_private``), the only files
nbgrader writes there while it grades. Runs of a submission nbgrader left (it moves on after an
error) are stopped when another submission begins (``drop_all_but``), and at exit.
"""

from __future__ import annotations

import atexit
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import nbformat

#: (the submission's folder nbgrader grades in, notebook name)
Key = tuple[str, str]


@dataclass
class Run:
    """One notebook executed in the background: its input as JSON, then the executed notebook or the error."""

    key: Key
    source: str
    resources: dict
    session: Any  # a GradingSession: ``grade(nb, resources)`` runs in a worker, ``request_stop(why)`` ends it
    done: threading.Event = field(default_factory=threading.Event)
    notebook: nbformat.NotebookNode | None = None
    error: str | None = None
    seconds: float = 0.0
    dropped: bool = False
    refused: str | None = None  # why ``take`` did not hand the result over


_lock = threading.Lock()
_runs: dict[Key, Run] = {}
_queue: queue.SimpleQueue = queue.SimpleQueue()
_workers: list[threading.Thread] = []


def as_json(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb)


def scheduled(key: Key) -> bool:
    with _lock:
        return key in _runs


def schedule(key: Key, nb: nbformat.NotebookNode, resources: dict, session: Any, workers: int) -> None:
    """Grade ``nb`` (what nbgrader will execute as ``key``) with ``session.grade(nb, resources)`` in
    the background, at most ``workers`` notebooks at once, in the order scheduled."""
    run = Run(key, as_json(nb), resources, session)
    with _lock:
        if key in _runs:
            return
        _runs[key] = run
        while len(_workers) < workers:
            # daemons: a run under way never holds up the end of the process (its kernel is
            # killed at exit, ``_drop_everything``)
            worker = threading.Thread(target=_work, name=f"grade-background-{len(_workers)}", daemon=True)
            worker.start()
            _workers.append(worker)
    _queue.put(run)


def take(key: Key, nb: nbformat.NotebookNode) -> Run | None:
    """The run of ``key``, once done, or None when there is none; its ``refused`` says why it
    cannot stand for executing ``nb`` now (another notebook: the run is stopped first; an
    error). The run is forgotten either way."""
    with _lock:
        run = _runs.pop(key, None)
    if run is None:
        return None
    if run.source != as_json(nb):
        _drop(run, "nbgrader passed a different notebook")
        run.refused = "the notebook executed in the background differs from the one nbgrader passed"
        return run
    run.done.wait()
    if run.notebook is None or run.dropped:
        run.refused = f"its background run failed ({run.error or 'stopped'})"
    return run


def drop_all_but(folder: str) -> None:
    """Stop and forget the runs of every other submission folder (nbgrader left them)."""
    with _lock:
        stale = [run for key, run in _runs.items() if key[0] != folder]
        for run in stale:
            del _runs[run.key]
    for run in stale:
        _drop(run, "nbgrader moved on to another submission")


def _drop(run: Run, why: str) -> None:
    run.dropped = True
    if not run.done.is_set():
        run.session.request_stop(f"stopped: {why}")


def _work() -> None:
    while True:
        run = _queue.get()
        if not run.dropped:
            start = time.perf_counter()
            try:
                run.notebook, _ = run.session.grade(nbformat.reads(run.source, as_version=4), run.resources)
            except BaseException as exc:  # noqa: BLE001 - nbgrader then executes it itself
                run.error = f"{type(exc).__name__}: {exc}"
            run.seconds = time.perf_counter() - start
        run.done.set()


@atexit.register
def _drop_everything() -> None:
    with _lock:
        runs = list(_runs.values())
        _runs.clear()
    for run in runs:
        _drop(run, "the grader is exiting")
