"""What both front ends do while a notebook executes: student cells run, test cells are judged.

``GradingSession`` is mixed into an nbclient executor (nbconvert's ``ExecutePreprocessor`` for
the pytest graders, nbgrader's ``Execute`` for nbgrader). Every cell of student code runs in
the limited, sandboxed kernel (``GradingKernelManager``). A test cell's own code never runs:
at its place the check's judge runs in this process, sends probes to the kernel and decides,
and the cell's outputs are replaced by the verdict (``judge.verdict_outputs``), so that
nbgrader's gradebook records the grader's points and nothing the kernel printed.

A whole-notebook time limit kills the kernel; a kernel that dies costs only the checks that
had not been judged yet, each saying why.
"""

from __future__ import annotations

import os
import signal
import threading

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from traitlets import Bool, Integer

from autograde import limits
from autograde.judge import Kernel, Verdict, judge, verdict_outputs
from autograde.kernel_manager import GradingKernelManager
from autograde.notebook import check_id
from autograde.registry import BY_ID


class GradingSession(NotebookClient):
    """Mixin for an nbclient executor: judges test cells and bounds the whole notebook's time."""

    notebook_timeout = Integer(limits.NOTEBOOK_TIMEOUT,
                               help="Seconds a whole notebook may run; then its kernel is stopped.").tag(config=True)
    # nbgrader raises when a cell's output is late after a timeout, and then drops the whole
    # notebook: a kernel stuck in a loop that swallows interrupts would score 0 everywhere.
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
        self.verdicts: dict[str, Verdict] = {}
        self.stopped_because: str | None = None
        limit_hit = threading.Event()
        watchdog = threading.Timer(self.notebook_timeout, self._kill_kernel, args=(limit_hit,))
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
            self.stopped_because = why
            self.log.warning("%s; checks not judged yet score 0", why)
            for cell in nb.cells:
                grade_id = check_id(cell)
                if grade_id and grade_id not in self.verdicts:
                    self.verdicts[grade_id] = Verdict(grade_id, False, why)
                    cell.outputs = verdict_outputs(self.verdicts[grade_id], _description(grade_id))
            return nb, resources
        finally:
            watchdog.cancel()

    def _kill_kernel(self, limit_hit: threading.Event) -> None:
        limit_hit.set()
        try:
            os.kill(self.km.provisioner.process.pid, signal.SIGKILL)
        except Exception:  # noqa: BLE001 - the kernel may already be gone
            pass

    def preprocess_cell(self, cell, resources, index):
        grade_id = check_id(cell)
        if grade_id is None:
            return super().preprocess_cell(cell, resources, index)
        check = BY_ID.get(grade_id)
        if check is None:
            verdict = Verdict(grade_id, False, f"no check is registered for grade_id {grade_id!r}: "
                                               "tell your instructor")
        else:
            kernel = Kernel(lambda code: self._run_probe(code, index), self.km.scratch, self.timeout)
            verdict = judge(check, kernel, limits.grading_seed())
        self.verdicts[grade_id] = verdict
        cell.outputs = verdict_outputs(verdict, _description(grade_id))
        cell.execution_count = None
        self.nb.cells[index] = cell  # nbclient stores each cell it executed at ``index``
        return cell, resources

    def on_cell_executed(self, **kwargs):
        """Keep an error the reply reports but no output shows (a time limit: the kernel was
        interrupted, or stopped answering), so that the cell and its check say so."""
        cell, reply = kwargs["cell"], kwargs["execute_reply"]
        content = (reply or {}).get("content", {})
        if content.get("status") == "error" and not any(
                o.get("output_type") == "error" and o.get("ename") == content.get("ename") for o in cell.outputs):
            cell.outputs.append(nbformat.v4.new_output("error", ename=content.get("ename", "Error"),
                                                       evalue=content.get("evalue", ""),
                                                       traceback=content.get("traceback") or []))

    def _run_probe(self, code: str, index: int) -> list:
        probe = nbformat.v4.new_code_cell(code)
        self.execute_cell(probe, index, store_history=False)
        return probe.outputs


def _description(grade_id: str) -> str:
    check = BY_ID.get(grade_id)
    return check.description if check else grade_id
