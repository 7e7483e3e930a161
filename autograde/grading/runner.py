"""Execute one submitted notebook in its own kernel and collect the verdict of every check.

The submission is never modified: it is read, rebuilt (test cells and given read-only cells
restored from the source notebook, the student's other cells kept), and executed in a fresh
working folder by a ``GradingSession``, the same session nbgrader's front end uses.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor
from traitlets.config import Config

from autograde import limits
from autograde.assignment.check import Check
from autograde.assignment.notebook import cell_key, check_id, is_given_cell, nbgrader_meta, restore_at
from autograde.assignment.registry import BY_ID, SOURCES, checks_of
from autograde.assignment.submission import why_not_read
from autograde.assignment.support import copy_support_files
from autograde.grading.budget import Budget
from autograde.grading.session import GradingSession
from autograde.kernel.forked.zygote import LINE as FORKED
from autograde.kernel.manager import require_sandbox


@dataclass
class CheckResult:
    """Outcome of one check: points earned out of ``check.points``, and why."""

    check: Check
    passed: bool
    message: str
    seconds: float = 0.0

    @property
    def points(self) -> int:
        return self.check.points if self.passed else 0


@dataclass
class NotebookGrade:
    """Every check of one notebook; ``problem`` says what went wrong for the whole notebook."""

    notebook: str
    path: Path | None
    results: list[CheckResult] = field(default_factory=list)
    problem: str | None = None
    seconds: float = 0.0
    isolation: str = ""
    peak_memory_mb: float = 0.0
    kernel_started_ahead: bool = False  # while an earlier notebook was graded (autograde.kernel.pool)

    @property
    def points(self) -> int:
        return sum(r.points for r in self.results)


class GradingClient(GradingSession, ExecutePreprocessor):
    """The pytest graders' executor: nbconvert's, as a grading session; ``follows()`` says whether
    another notebook of the submission is still to start (its kernel then starts ahead)."""

    follows: Callable[[], bool] = staticmethod(lambda: False)

    def notebook_follows(self) -> bool:
        return self.follows()


def source_notebook(notebook: str) -> nbformat.NotebookNode:
    return nbformat.read(SOURCES[notebook], as_version=4)


def rebuild(submitted: nbformat.NotebookNode, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook to execute: the student's answers and extra cells, the source's test and given
    cells in their place (deleted ones put back after their neighbour in the source)."""
    fixed = {nbgrader_meta(c)["grade_id"]: c for c in source.cells
             if is_given_cell(c) or check_id(c) in BY_ID}
    cells, keys = [], []  # the cells to run, and what each stands for (None: a student's own)
    for cell in submitted.cells:
        gid, key = nbgrader_meta(cell).get("grade_id"), cell_key(cell)
        if gid in fixed:
            if gid not in keys:
                cells.append(_copy(fixed[gid]))
                keys.append(gid)
        elif cell.cell_type == "code" and check_id(cell) is None:
            cells.append(nbformat.v4.new_code_cell(cell.source))
            keys.append(key if key not in keys else None)
        elif key not in keys:  # text: kept only as a landmark for restoring deleted cells
            cells.append(nbformat.v4.new_markdown_cell(""))
            keys.append(key)
    order = [cell_key(c) for c in source.cells]
    for gid in [nbgrader_meta(c).get("grade_id") for c in source.cells]:  # put back what was deleted
        if gid not in fixed or gid in keys:
            continue
        at = restore_at(order, keys, gid)
        cells.insert(at, _copy(fixed[gid]))
        keys.insert(at, gid)
    nb = nbformat.v4.new_notebook(cells=[c for c in cells if c.cell_type == "code"])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _copy(cell) -> nbformat.NotebookNode:
    if cell.cell_type != "code":
        return nbformat.v4.new_markdown_cell(cell.source, metadata={"nbgrader": nbgrader_meta(cell)})
    return nbformat.v4.new_code_cell(cell.source, metadata={"nbgrader": nbgrader_meta(cell)})


def _read(path: Path) -> tuple[nbformat.NotebookNode | None, str | None]:
    if (why := why_not_read(path)) is not None:  # read once: it scans the file
        return None, why
    try:
        return nbformat.read(path, as_version=4), None
    except FileNotFoundError:
        return None, f"{path}: file not found. Fix: submit the notebook under this name."
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        return None, (f"{path}: not a valid notebook ({str(exc).splitlines()[0]}). "
                      "Fix: re-download the notebook from the release and copy your answers in.")
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the student's result
        return None, f"{path}: cannot be read as a notebook ({type(exc).__name__}: {exc})."


def grade_notebook(path: Path, notebook: str, cell_timeout: int = limits.CELL_TIMEOUT,
                   notebook_timeout: int = limits.NOTEBOOK_TIMEOUT, workdir: Path | None = None,
                   memory_mb: int = limits.MEMORY_MB, zygote=None, threads: int = 0,
                   follows: Callable[[], bool] | None = None, budget: Budget | None = None) -> NotebookGrade:
    """Grade the notebook at ``path`` as exercise ``notebook`` (a notebook's stem, as in the registry);
    its kernel is forked from ``zygote`` (an ``autograde.kernel.forked.zygote.Zygote``) when that hides what it must,
    and its TensorFlow uses ``threads`` threads within an op (0: its own choice). With ``follows``
    the kernel may be one started ahead (``autograde.kernel.pool``), and one is started ahead for
    the next notebook whenever ``follows()`` says one is still to start. ``budget``: the
    submission's time budget (``autograde.grading.budget``), which may end the notebook sooner."""
    start = time.perf_counter()
    grade = NotebookGrade(notebook, path)
    checks = checks_of(notebook)
    submitted, problem = _read(path)
    if submitted is None:
        grade.problem = problem
        grade.results = [CheckResult(c, False, f"not graded: {problem}") for c in checks]
        return grade

    nb = rebuild(submitted, source_notebook(notebook))
    own_dir = workdir is None
    work = Path(tempfile.mkdtemp(prefix="gdgrade-")) if own_dir else workdir
    try:
        copy_support_files(work)
        grade.isolation = require_sandbox()
        config = Config()
        config.GradingKernelManager.memory_mb = memory_mb
        # the folder of the submission (the class's other submissions) is hidden too
        config.GradingKernelManager.hide = [str(path.parent.resolve())]
        config.GradingKernelManager.zygote = zygote
        config.GradingKernelManager.threads = threads
        client = GradingClient(config=config, timeout=cell_timeout, notebook_timeout=notebook_timeout,
                               allow_errors=True, interrupt_on_timeout=True, spare_kernels=follows is not None,
                               budget=budget)
        if follows is not None:
            client.follows = follows
        client.preprocess(nb, {"metadata": {"path": str(work)}})
        grade.problem = client.stopped_because
        grade.peak_memory_mb = client.peak_memory_mb
        grade.kernel_started_ahead = client.kernel_started_ahead
        if client.kernel_forked:
            grade.isolation += f"; {FORKED}"
        for check in checks:
            verdict = client.verdicts.get(check.grade_id)
            if verdict is None:
                grade.results.append(CheckResult(check, False, "not run: the check's cell is missing"))
            else:
                grade.results.append(CheckResult(check, verdict.passed, verdict.message, verdict.seconds))
    finally:
        if own_dir:
            shutil.rmtree(work, ignore_errors=True)
    grade.seconds = time.perf_counter() - start
    return grade
