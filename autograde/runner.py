"""Execute one submitted notebook in its own kernel and collect the result of every check.

The submission is never modified: it is read, rebuilt in a fresh working folder (test
cells and read-only cells restored from the source notebook, each test cell replaced by
a call to ``autograde.kernel.report``), and executed there with time limits.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from traitlets.config import Config

from autograde.kernel import MIME
from autograde.kernel_manager import MEMORY_MB, GradingKernelManager
from autograde.registry import ASSIGNMENT, BY_ID, CHECKS, Check, grading_seed
from autograde.sandbox import describe, probe

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source" / ASSIGNMENT

#: Environment of every grading kernel: quiet TensorFlow, no display, grading mode.
KERNEL_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "MPLBACKEND": "Agg",
    "PYTHONHASHSEED": "0",
    "NBGRADER_EXECUTION": "autograde",
}


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

    @property
    def points(self) -> int:
        return sum(r.points for r in self.results)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def checks_of(notebook: str) -> list[Check]:
    return [c for c in CHECKS if c.notebook == notebook]


def source_notebook(notebook: str) -> nbformat.NotebookNode:
    return nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4)


EXPORTS = ".gdgrade"


def check_cell(grade_id: str, nonce: str) -> nbformat.NotebookNode:
    export = f"{EXPORTS}/{grade_id}-{nonce}.npz" if BY_ID[grade_id].export else None
    cell = nbformat.v4.new_code_cell(
        "from autograde.kernel import report as __gdgrade_report\n"
        f"__gdgrade_report({grade_id!r}, globals(), {nonce!r}, {export!r})"
    )
    cell.metadata["gdgrade_id"] = grade_id
    return cell


def rebuild(submitted: nbformat.NotebookNode, source: nbformat.NotebookNode,
            nonce: str) -> nbformat.NotebookNode:
    """The notebook to execute: the student's answers, the source's fixed cells, check calls."""
    fixed = {nbgrader_meta(c)["grade_id"]: c for c in source.cells
             if nbgrader_meta(c).get("locked") or is_test_cell(c)}
    graded = {c.grade_id for c in CHECKS}
    cells, seen = [], set()
    for cell in submitted.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in graded and gid not in seen:
            cells.append(check_cell(gid, nonce))
        elif gid in fixed and not is_test_cell(fixed[gid]):
            if fixed[gid].cell_type == "code":
                cells.append(nbformat.v4.new_code_cell(fixed[gid].source))
        elif cell.cell_type == "code" and gid not in fixed:
            cells.append(nbformat.v4.new_code_cell(cell.source))
        seen.add(gid)
    # test cells the student deleted are restored at the end
    cells += [check_cell(gid, nonce) for gid in fixed
              if gid in graded and gid not in seen]
    # before any student code: bind the checks that report() runs (see autograde/kernel.py)
    cells.insert(0, nbformat.v4.new_code_cell("import autograde.kernel"))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _read(path: Path) -> tuple[nbformat.NotebookNode | None, str | None]:
    try:
        return nbformat.read(path, as_version=4), None
    except FileNotFoundError:
        return None, f"{path}: file not found. Fix: submit the notebook under this name."
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        return None, (f"{path}: not a valid notebook ({str(exc).splitlines()[0]}). "
                      "Fix: re-download the notebook from the release and copy your answers in.")
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the student's result
        return None, f"{path}: cannot be read as a notebook ({type(exc).__name__}: {exc})."


def _outcome(cell, nonce: str, executed: bool, why_not_run: str,
             cell_timeout: int) -> tuple[bool, str, float]:
    for out in cell.get("outputs", []):
        data = out.get("data", {}).get(MIME) if out.get("output_type") == "display_data" else None
        if isinstance(data, dict) and data.get("nonce") == nonce:
            return bool(data["passed"]), str(data["message"]), float(data.get("seconds", 0.0))
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            if out.get("ename") in ("CellTimeoutError", "KeyboardInterrupt"):  # only the grader interrupts
                return False, ("time limit: this check ran longer than the per-cell limit of "
                               f"{cell_timeout} s (an endless loop?)"), 0.0
            return False, f"{out.get('ename')}: {out.get('evalue')}", 0.0
    return False, (why_not_run if not executed else "the check produced no result"), 0.0


def take_export(work: Path, grade_id: str, nonce: str) -> dict[str, np.ndarray] | Exception | None:
    """Read and delete the values a check cell exported (the error reading them; None if there
    are none), as soon as the cell has run: later cells of the notebook cannot replace them."""
    path = work / EXPORTS / f"{grade_id}-{nonce}.npz"
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except Exception as exc:  # noqa: BLE001 - a missing or unreadable file is the student's result
        return exc
    finally:
        path.unlink(missing_ok=True)


def recheck(result: CheckResult, exported: dict[str, np.ndarray] | Exception | None) -> None:
    """Judge an exported value outside the kernel; a check passes only if both judgements pass."""
    check = result.check
    if check.recheck is None or not result.passed:
        return
    if exported is None:  # report() says why in its message, e.g. "could not export values"
        problem = result.message or "the check exported no values"
    elif isinstance(exported, Exception):
        problem = f"{type(exported).__name__}: {exported}"
    else:
        try:
            check.recheck(exported, seed=grading_seed())
            return
        except Exception as exc:  # noqa: BLE001 - a wrong value is the student's result
            problem = str(exc) if isinstance(exc, AssertionError) else f"{type(exc).__name__}: {exc}"
    result.passed = False
    result.message = f"re-checked by the grader outside your kernel: {problem}"


def grade_notebook(path: Path, notebook: str, cell_timeout: int = 300,
                   notebook_timeout: int = 900, workdir: Path | None = None,
                   memory_mb: int = MEMORY_MB) -> NotebookGrade:
    """Grade the notebook at ``path`` as exercise ``notebook`` (a stem such as 01_linear_system)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    start = time.perf_counter()
    grade = NotebookGrade(notebook, path)
    checks = checks_of(notebook)
    submitted, problem = _read(path)
    if submitted is None:
        grade.problem = problem
        grade.results = [CheckResult(c, False, f"not graded: {problem}") for c in checks]
        return grade

    nonce = secrets.token_hex(16)
    nb = rebuild(submitted, source_notebook(notebook), nonce)
    own_dir = workdir is None
    work = Path(tempfile.mkdtemp(prefix="gdgrade-")) if own_dir else workdir
    try:
        _copy_support_files(work)
        (work / EXPORTS).mkdir(exist_ok=True)
        env = {**os.environ, **KERNEL_ENV,
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        grade.isolation = describe() if probe()[0] else f"isolation: NONE — {probe()[1]}"
        config = Config()
        config.GradingKernelManager.memory_mb = memory_mb
        # the folder of the submission (the class's other submissions) is hidden too
        config.GradingKernelManager.hide = [str(path.parent.resolve())]
        exported: dict[str, dict[str, np.ndarray] | Exception] = {}

        def on_cell_executed(cell, **_):
            grade_id = cell.metadata.get("gdgrade_id")
            if grade_id and BY_ID[grade_id].export:
                exported[grade_id] = take_export(work, grade_id, nonce)

        client = NotebookClient(nb, config=config, kernel_manager_class=GradingKernelManager,
                                on_cell_executed=on_cell_executed, timeout=cell_timeout,
                                allow_errors=True, interrupt_on_timeout=True,
                                error_on_timeout={"ename": "CellTimeoutError", "evalue": "",
                                                  "traceback": ["CellTimeoutError"]},
                                resources={"metadata": {"path": str(work)}})
        why = "not run: an earlier cell stopped the notebook"
        watchdog = threading.Timer(notebook_timeout, _kill_kernel, args=(client,))
        watchdog.daemon = True
        try:
            watchdog.start()
            client.execute(env=env)
        except DeadKernelError:
            why = (f"not run: the notebook hit its time limit of {notebook_timeout} s"
                   if watchdog.finished.is_set() and not watchdog.is_alive()
                   else "not run: the kernel died (crash, exit or out of memory) during or before this check")
            grade.problem = why
        finally:
            watchdog.cancel()
        by_id = {c.metadata.get("gdgrade_id"): c for c in nb.cells if c.metadata.get("gdgrade_id")}
        for check in checks:
            cell = by_id.get(check.grade_id)
            # after a dead kernel, a check without a result did not run (to its end)
            executed = cell is not None and cell.get("execution_count") is not None and not grade.problem
            passed, message, secs = _outcome(cell or {}, nonce, executed, why, cell_timeout)
            grade.results.append(CheckResult(check, passed, message, secs))
            recheck(grade.results[-1], exported.get(check.grade_id))
    finally:
        if own_dir:
            shutil.rmtree(work, ignore_errors=True)
    grade.seconds = time.perf_counter() - start
    return grade


def _copy_support_files(work: Path) -> None:
    """Copy the trusted non-notebook files of the source assignment (gdkit, data) into ``work``."""
    for item in SOURCE.iterdir():
        if item.suffix == ".ipynb" or item.name.startswith(".") or item.name == "__pycache__":
            continue
        dest = work / item.name
        if item.is_dir():
            shutil.copytree(item, dest, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(item, dest)


def _kill_kernel(client) -> None:
    try:
        pid = client.km.provisioner.process.pid
        os.kill(pid, signal.SIGKILL)
    except Exception:  # noqa: BLE001 - the kernel may already be gone
        pass
