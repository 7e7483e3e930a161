"""nbgrader's Execute step with the pytest graders' defences, used through nbgrader_config.py.

``GradingExecute`` runs each submission in a ``GradingKernelManager`` kernel (memory limit,
bubblewrap sandbox) and adds what nbgrader 0.9.6 lacks:

- a per-notebook time limit (``notebook_timeout``, seconds), besides nbgrader's per-cell one;
- a kernel that dies (crash, exit, out of memory, time limit) costs only the test cells that
  had not finished: they get an error output saying why, the others keep their result
  (nbgrader alone would not grade the notebook at all);
- checks with a ``recheck`` in ``autograde.registry`` are judged again outside the kernel: the
  kernel saves the values (e.g. trained weights) and the grader evaluates them on its own data;
  a test cell passes only if both judgements pass.
"""

from __future__ import annotations

import os
import secrets
import signal
import threading

import nbformat
import numpy as np
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from autograde.kernel_manager import GradingKernelManager
from autograde.registry import BY_ID, grading_seed
from autograde.sandbox import describe, probe


def _grade_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
        return meta.get("grade_id")
    return None


def _has_error(cell) -> bool:
    return any(out.get("output_type") == "error" for out in cell.get("outputs", []))


def _error(ename: str, message: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


class GradingExecute(Execute):
    """nbgrader's Execute in a limited, sandboxed kernel, with a notebook limit and re-checks."""

    notebook_timeout = Integer(
        900, help="Seconds a whole notebook may run; then its kernel is stopped.").tag(config=True)
    # nbgrader raises when a cell's output is late after a timeout, and then drops the whole
    # notebook: a kernel stuck in a loop that swallows interrupts would score 0 everywhere.
    # The reply decides instead (Execute.on_cell_executed adds its error when output is missing).
    raise_on_iopub_timeout = Bool(False, help="Stop the notebook when output is late.").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", GradingKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self.error_on_timeout = {
            "ename": "CellTimeoutError",
            "evalue": f"time limit: this cell ran longer than the per-cell limit of {self.timeout} s "
                      "(an endless loop?)",
            "traceback": [f"CellTimeoutError: time limit: this cell ran longer than the per-cell "
                          f"limit of {self.timeout} s (an endless loop?)"]}
        self._finished: set[int] = set()
        if not probe()[0]:
            self.log.warning(describe())
        limit_hit = threading.Event()
        watchdog = threading.Timer(self.notebook_timeout, self._stop_kernel, args=(limit_hit,))
        watchdog.daemon = True
        watchdog.start()
        try:
            return super().preprocess(nb, resources, km)
        except (DeadKernelError, CellTimeoutError) as exc:
            if limit_hit.is_set():
                why = f"not run: the notebook hit its time limit of {self.notebook_timeout} s"
            elif isinstance(exc, CellTimeoutError):
                why = "not run: the kernel stopped answering (an endless loop that ignores interrupts?)"
            else:
                why = "not run: the kernel died (crash, exit or out of memory) during or before this check"
            self.log.warning("%s; test cells that had not finished score 0", why)
            for index, cell in enumerate(nb.cells):
                if _grade_id(cell) and index not in self._finished:
                    cell.setdefault("outputs", []).append(_error("KernelDied", why))
            return nb, resources
        finally:
            watchdog.cancel()

    def _stop_kernel(self, limit_hit: threading.Event) -> None:
        limit_hit.set()
        try:
            os.kill(self.km.provisioner.process.pid, signal.SIGKILL)
        except Exception:  # noqa: BLE001 - the kernel may already be gone
            pass

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        grade_id = _grade_id(cell)
        check = BY_ID.get(grade_id)
        if check is not None and check.recheck is not None and not _has_error(cell):
            problem = self._recheck(grade_id, index)
            self.nb.cells[index] = cell  # nbclient stores the cell it executed at ``index``
            if problem:
                cell.outputs.append(_error("RecheckFailed",
                                           f"re-checked by the grader outside your kernel: {problem}"))
        self._finished.add(index)
        return cell, resources

    def _recheck(self, grade_id: str, index: int) -> str | None:
        """Export the check's values from the kernel and judge them here; the problem, if any."""
        path = self.km.scratch / f"{grade_id}-{secrets.token_hex(16)}.npz"
        export = nbformat.v4.new_code_cell(
            "from autograde.registry import export_values as __gdgrade_export\n"
            f"__gdgrade_export({grade_id!r}, globals(), {str(path)!r})")
        self.execute_cell(export, index, store_history=False)
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
            BY_ID[grade_id].recheck(arrays, seed=grading_seed())
        except Exception as exc:  # noqa: BLE001 - a missing or wrong value is the student's result
            if isinstance(exc, AssertionError):
                return str(exc)
            errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in export.outputs
                      if o.get("output_type") == "error"]
            return (f"could not export values for the grader ({errors[0]})" if errors
                    else f"{type(exc).__name__}: {exc}")
        finally:
            path.unlink(missing_ok=True)
        return None
