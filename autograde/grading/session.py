"""What both front ends do while a notebook executes: student cells run, test cells are judged.

``GradingSession`` is mixed into an nbclient executor (nbconvert's ``ExecutePreprocessor`` for
the pytest graders, nbgrader's ``Execute`` for nbgrader). Every cell of student code runs in
the limited, sandboxed kernel (``GradingKernelManager``). A test cell's own code never runs:
at its place the check's judge runs in this process, sends probes to the kernel and decides,
and the cell's outputs are replaced by the verdict (``judge.verdict_outputs``), so that
nbgrader's gradebook records the grader's points and nothing the kernel printed. When the
notebook is done, every student cell is made inert (``autograde.grading.inert``): what any viewer of the
graded notebook shows of student output is text and images.

A check may instead be judged right after the given cell whose results it reads
(``Check.judged_after``), before later cells of the student could replace them. A
whole-notebook time limit kills the kernel; a kernel that dies costs only the checks that had
not been judged yet, each saying why. Kernels are killed when their notebook is done, and with
``spare_kernels`` a session takes a kernel started ahead (``autograde.kernel.pool``).
"""

from __future__ import annotations

import functools
import os
import signal
import threading
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from traitlets import Bool, Instance, Integer, default

from autograde import limits, settings
from autograde.assignment.notebook import check_id, nbgrader_meta
from autograde.assignment.registry import BY_ID, CHECKS, SOURCES
from autograde.assignment.submission import refused
from autograde.grading import inert, reference_run
from autograde.grading.budget import Budget
from autograde.grading.judge import Kernel, Verdict, gate, judge, verdict_outputs
from autograde.kernel import jupyter_private
from autograde.kernel.manager import GradingKernelManager, over_disk_limit
from autograde.kernel.resources import peak_rss_mb


class GradingSession(NotebookClient):
    """Mixin for an nbclient executor: judges test cells and bounds the whole notebook's time."""

    notebook_timeout = Integer(limits.NOTEBOOK_TIMEOUT,
                               help="Seconds a whole notebook may run; then its kernel is stopped.").tag(config=True)
    follow_solution_time = Bool(True, help="Limit a notebook to a multiple of its solution's run time on this "
                                           "machine (autograde.limits.notebook_limit), within notebook_timeout."
                                ).tag(config=True)
    # nbgrader raises when a cell's output is late after a timeout, and then drops the whole
    # notebook: a kernel stuck in a loop that swallows interrupts would score 0 everywhere.
    raise_on_iopub_timeout = Bool(False, help="Stop the notebook when output is late.").tag(config=True)
    budget = Instance(Budget, allow_none=True, help="The time budget of the submission this notebook belongs "
                                                    "to (autograde.grading.budget); None: the notebook's own limit only.")
    spare_kernels = Bool(False, help="Take a kernel started ahead (autograde.kernel.pool) when one "
                                     "matches, and start one ahead for the notebook after this one.").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", GradingKernelManager)
        super().__init__(*args, **kwargs)
        self._stop_request: str | None = None

    def request_stop(self, why: str) -> None:
        """Stop this session's kernel (from any thread) within ``limits.DISK_CHECK_SECONDS`` of its
        answering, never while it starts: bubblewrap killed then can leave the sandbox's init
        and kernel running. The checks not judged yet score 0, saying ``why``."""
        self._stop_request = why

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        self._kernel_answered = True  # it replied: its sandbox is set up (``--die-with-parent`` holds)
        # nothing reads the stdin and control channels while grading: whatever a kernel sent there
        # would be queued in this process (up to zmq's high-water mark of 1000 messages each)
        kc.stdin_channel.stop()
        kc.control_channel.stop()
        jupyter_private.close_control_socket(self.km)  # an immediate shutdown needs none
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)  # nbclient's sync path calls this

    def create_kernel_manager(self):
        """A kernel started ahead, given this notebook's folder, when ``spare_kernels`` and one matches."""
        if not self.spare_kernels:
            return super().create_kernel_manager()
        from autograde.kernel import pool as kernel_pool

        km = kernel_pool.take(self.config)
        if km is None:
            km = super().create_kernel_manager()
        else:
            km.adopt(Path(self.resources.get("metadata", {}).get("path") or os.getcwd()))
            self.km = km
            self.kernel_started_ahead = True
        if self.notebook_follows():
            kernel_pool.start_spare(self.config)
        return km

    def notebook_follows(self) -> bool:
        """Whether another notebook is likely graded after this one (the front end knows)."""
        return False

    @default("shutdown_kernel")
    def _immediate(self) -> str:
        """Nothing in a grading kernel needs its exit handlers, and TensorFlow's graceful exit
        costs 1.5-2.5 s per kernel (``python bench/kernel_start.py``): the kernel is killed."""
        return "immediate"

    def preprocess(self, nb, resources=None, km=None):
        self.error_on_timeout = {
            "ename": "CellTimeoutError",
            "evalue": f"time limit: this cell ran longer than the per-cell limit of {self.timeout} s "
                      "(an endless loop?)",
            "traceback": [f"CellTimeoutError: time limit: this cell ran longer than the per-cell "
                          f"limit of {self.timeout} s (an endless loop?)"]}
        self._seed: int | None = None  # of this notebook's hidden inputs (limits.submission_seed), at its first check
        self.verdicts: dict[str, Verdict] = {}
        self.early: dict[str, Verdict] = {}  # verdicts of checks judged right after a given cell
        self.stopped_because: str | None = None
        self.peak_memory_mb = 0.0  # the kernel's resident-memory high-water mark, polled
        self.kernel_started_ahead = False  # a spare kernel (autograde.kernel.pool) ran this notebook
        self.kernel_forked = False  # the kernel was forked from a zygote (autograde.kernel.forked.zygote)
        self.reset_output_limits()
        self._limit_hit: str | None = None
        self._kernel_answered = False
        meta = (resources or {}).get("nbgrader") or {}
        refusal = refused((meta.get("student"), meta.get("assignment"), meta.get("notebook")))
        if refusal is not None:  # nbgrader read an empty notebook in its place (nbgrader_fixes.BoundedExporter)
            return self._not_run(nb, f"not graded: {refusal}"), resources
        if self.budget is not None and self.budget.left() <= 0:
            return self._not_run(nb, f"not run: {self.budget.spent()}"), resources
        self._time_limit = self._own_time_limit(nb)
        done = threading.Event()
        watchdog = threading.Thread(target=self._watch, args=(done,), daemon=True)
        watchdog.start()
        try:
            nb, resources = super().preprocess(nb, resources, km)
            return _inert(nb), resources
        except (DeadKernelError, CellTimeoutError) as exc:
            if self._limit_hit:
                why = f"not run: {self._limit_hit}"
            elif isinstance(exc, CellTimeoutError):
                why = "not run: the kernel stopped answering (an endless loop that ignores interrupts?)"
            else:
                why = "not run: the kernel died (crash, exit or out of memory) during or before this check"
            return self._not_run(nb, why), resources
        finally:
            done.set()

    def reset_output_limits(self) -> None:
        """Start counting a notebook's output afresh (``output``)."""
        self._output_bytes: dict[str, int] = {}
        self._error_kept: set[str] = set()  # cells (by request id) whose first error is kept
        self._output_total = 0

    @default("store_widget_state")
    def _no_widget_state(self) -> bool:
        return False

    def _own_time_limit(self, nb) -> tuple[int, str]:
        """This notebook's time limit and how it was set (``limits.notebook_limit``): from the
        solution's run time on this machine when ``follow_solution_time``, else ``notebook_timeout``."""
        notebooks = {BY_ID[g].notebook for g in map(check_id, nb.cells) if g in BY_ID}
        if not self.follow_solution_time or len(notebooks) != 1:
            return limits.notebook_limit(None, self.notebook_timeout)

        notebook = notebooks.pop()
        try:
            seconds = reference_run.solution_seconds(notebook)
        except Exception as exc:  # noqa: BLE001 - the notebook timeout holds instead
            self.log.warning("the solution of %s did not run (%s: %s): its notebook limit is %s s",
                             notebook, type(exc).__name__, exc, self.notebook_timeout)
            seconds = None
        return limits.notebook_limit(seconds, self.notebook_timeout)

    def _not_run(self, nb, why: str):
        """``nb`` with every check not judged yet failed, saying ``why``."""
        self.stopped_because = why
        self.log.warning("%s; checks not judged yet score 0", why)
        for cell in nb.cells:
            grade_id = check_id(cell)
            if grade_id and grade_id not in self.verdicts:
                self.verdicts[grade_id] = Verdict(grade_id, False, why)
                cell.outputs = verdict_outputs(self.verdicts[grade_id], _description(grade_id))
        return _inert(nb)

    def _watch(self, done: threading.Event) -> None:
        """Stop the kernel when the notebook passes its time limit or its folders the disk limits."""
        limit, how = self._time_limit
        deadline = time.monotonic() + limit  # counted from the moment a kernel is asked for
        late = f"the notebook hit its time limit of {how}"
        if self.budget is not None and self.budget.deadline < deadline:
            deadline, late = self.budget.deadline, self.budget.spent()
        while not done.wait(limits.DISK_CHECK_SECONDS):
            self._note_memory()
            if time.monotonic() > deadline:
                why = late
            elif self._stop_request and self._kernel_answered:
                why = self._stop_request
            else:
                why = over_disk_limit(getattr(self.km, "scratch", None))
            # never while the kernel starts (bubblewrap killed then can leave its sandbox running):
            # the deadline holds from the start all the same, and is acted on once the kernel answers
            if why and self._kernel_answered and self._kill_kernel(why):
                return None
        return None

    async def _async_cleanup_kernel(self) -> None:
        self._note_memory()  # the last look, before the kernel is stopped
        await super()._async_cleanup_kernel()

    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    def _note_memory(self) -> None:
        pid = self._kernel_pid()
        if pid is not None:
            self.peak_memory_mb = max(self.peak_memory_mb, peak_rss_mb(pid))

    def _kernel_pid(self) -> int | None:
        return getattr(getattr(getattr(getattr(self, "km", None), "provisioner", None), "process", None), "pid", None)

    def _kill_kernel(self, why: str) -> bool:
        """Kill the kernel, saying ``why``; False while it has no process yet (the watchdog tries again)."""
        self._limit_hit = self._limit_hit or why
        pid = self._kernel_pid()
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # it ended already
            pass
        return True

    def preprocess_cell(self, cell, resources, index):
        self.kernel_forked = getattr(self.km, "forked", False)
        grade_id = check_id(cell)
        if grade_id is None:
            cell, resources = super().preprocess_cell(cell, resources, index)
            given = nbgrader_meta(cell).get("grade_id")
            for check in CHECKS:  # checks that read what this given cell produced, now
                if given and check.judged_after == given and check.grade_id not in self.early:
                    self.early[check.grade_id] = self._judge(check, index)
                    self.nb.cells[index] = cell
            return cell, resources
        check = BY_ID.get(grade_id)
        if check is None:
            verdict = Verdict(grade_id, False, f"no check is registered for grade_id {grade_id!r}: "
                                               "tell your instructor")
        elif grade_id in self.early:
            verdict = self.early[grade_id]
        elif check.judged_after:
            verdict = Verdict(grade_id, False, f"not judged: the given cell {check.judged_after!r} did not run "
                                               "before this check")
        else:
            verdict = self._judge(check, index)
        if check is not None:
            verdict = gate(check, verdict, self.verdicts)
        self.verdicts[grade_id] = verdict
        cell.outputs = verdict_outputs(verdict, _description(grade_id))
        cell.execution_count = None
        self.nb.cells[index] = cell  # nbclient stores each cell it executed at ``index``
        return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most ``limits.CELL_OUTPUT_BYTES`` of output per cell and ``NOTEBOOK_OUTPUT_BYTES``
        per notebook (display data, raw writes and errors included); a cell's first error is always
        kept, cut to a bounded size (``_bounded_error``)."""
        kind = msg["msg_type"]
        if self._in_probe and kind in ("display_data", "execute_result", "update_display_data"):
            return None  # a probe shows nothing: its values come back as files (and its display ids go nowhere)
        parent = msg["parent_header"].get("msg_id", "")
        if kind == "error":
            msg["content"] = self._kept_error(msg.get("content", {}))
            if parent not in self._error_kept:  # a cell's own error, whatever the output before it
                self._error_kept.add(parent)
                self._output_total += _size(msg["content"])
                return super().output(outs, msg, None, cell_index)
        elif kind not in ("stream", "display_data", "execute_result", "update_display_data"):
            return None  # no output of any other kind (nbclient would log its type, uncut)
        size = _size(msg.get("content", {}))
        used = self._output_bytes.get(parent, 0)
        cell_over = used + size > limits.CELL_OUTPUT_BYTES
        if used < 0 or cell_over or self._output_total + size > limits.NOTEBOOK_OUTPUT_BYTES:
            if used >= 0:  # the first output over a limit in this cell: say so, once
                self._output_bytes[parent] = -1
                which, limit = (("this cell's", limits.CELL_OUTPUT_BYTES) if cell_over
                                else ("the notebook's", limits.NOTEBOOK_OUTPUT_BYTES))
                outs.append(nbformat.v4.new_output("stream", name="stdout", text=(
                    f"\n[output limit: {which} output passed {limit:,} bytes; the rest is not kept]\n")))
            return None
        self._output_bytes[parent] = used + size
        self._output_total += size
        # no display id is recorded: an update of one would rewrite every output that shares it,
        # past the limits above (nbclient applies updates before ``output``); updates are dropped
        return super().output(outs, msg, None, cell_index)

    def _kept_error(self, content: dict) -> dict:
        """An error's content as kept: bounded (``_bounded_error``), and once the notebook's output
        is past ``limits.NOTEBOOK_OUTPUT_BYTES``, its name and the start of its value only."""
        content = _bounded_error(content)
        if self._output_total > limits.NOTEBOOK_OUTPUT_BYTES:
            content = {"ename": content["ename"][:100], "evalue": content["evalue"][:200],
                       "traceback": ["[output limit: the notebook's output is past its limit; this error is cut]"]}
        return content

    def handle_comm_msg(self, outs, msg, cell_index) -> None:
        """Comm (widget) messages are ignored: grading keeps no widget state, and nbclient's
        handling of them stores what a kernel sends unbounded and raises on malformed ones."""
        return None

    def _judge(self, check, index: int) -> Verdict:
        kernel = Kernel(lambda code: self._run_probe(code, index), self.km.scratch, self.timeout,
                        owner=self.km.user.uid)
        if self._seed is None:  # the student's code, and whatever else the kernel's folder gives it
            folder = Path((self.resources or {}).get("metadata", {}).get("path") or os.getcwd())
            self._seed = limits.submission_seed([c.source for c in self.nb.cells
                                                 if c.cell_type == "code" and check_id(c) is None]
                                                + _folder_digests(folder), settings.current().seed)
        return judge(check, kernel, self._seed)

    def on_cell_executed(self, **kwargs):
        """Keep an error the reply reports but no output shows (a time limit: the kernel was
        interrupted, or stopped answering), so that the cell and its check say so."""
        cell, reply = kwargs["cell"], kwargs["execute_reply"]
        content = (reply or {}).get("content", {})
        if content.get("status") == "error" and not any(
                o.get("output_type") == "error" and o.get("ename") == content.get("ename") for o in cell.outputs):
            kept = self._kept_error({"ename": content.get("ename", "Error"), "evalue": content.get("evalue", ""),
                                     "traceback": content.get("traceback") or []})
            self._output_total += _size(kept)
            cell.outputs.append(nbformat.v4.new_output("error", **kept))

    _in_probe = False

    def _run_probe(self, code: str, index: int) -> list:
        probe = nbformat.v4.new_code_cell(code)
        self._in_probe = True
        try:
            self.execute_cell(probe, index, store_history=False)
        finally:
            self._in_probe = False
        return probe.outputs


def _folder_digests(folder: Path, most: int = 500, head: int = 2**20) -> list[str]:
    """A digest of each file under ``folder`` that the assignment does not ship as it is (files a
    student added or changed; not notebooks), up to ``most`` files and ``head`` bytes each."""
    shipped = _digests(SOURCES[next(iter(SOURCES))].parent, most, head)
    return sorted(set(_digests.__wrapped__(folder, most, head)) - set(shipped))


@functools.lru_cache(maxsize=1)  # the assignment's own files; a submission's folder is read afresh
def _digests(folder: Path, most: int, head: int) -> tuple[str, ...]:
    import hashlib

    out = []
    for path in sorted(folder.rglob("*"))[:10 * most]:
        if len(out) >= most:
            break
        if path.suffix == ".ipynb" or "__pycache__" in path.parts or path.is_symlink() or not path.is_file():
            continue
        try:
            with open(path, "rb") as f:
                out.append(f"{path.relative_to(folder)}:{hashlib.sha256(f.read(head)).hexdigest()}")
        except OSError:
            continue
    return tuple(out)


#: Nesting deeper than this in an output's content counts as over every limit.
_MAX_DEPTH = 32


def _size(content) -> int:
    """Bytes of text in an output message's content (iterative: no depth reaches the grader's stack)."""
    total, stack = 0, [(content, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > _MAX_DEPTH:
            return limits.NOTEBOOK_OUTPUT_BYTES + 1
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
            total += 8 * len(item)
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
            total += 8 * len(item)
        else:
            total += 8
    return total


def _bounded_error(content: dict) -> dict:
    """An error output's content, its name, value and traceback cut to ``limits.CELL_OUTPUT_BYTES`` in all."""
    text = lambda v, n: v[:n] if isinstance(v, str) else ""  # noqa: E731
    budget, traceback = limits.CELL_OUTPUT_BYTES, []
    lines = content.get("traceback") if isinstance(content.get("traceback"), list) else []
    for line in lines[:1000]:
        line = text(line, budget)
        budget -= len(line)
        traceback.append(line)
        if budget <= 0:
            traceback.append("[output limit: the rest of this traceback is not kept]")
            break
    return {"ename": text(content.get("ename"), 200), "evalue": text(content.get("evalue"), 10_000),
            "traceback": traceback}


def _inert(nb):
    """``nb`` with its student output made inert (``autograde.grading.inert``)."""
    inert.make_inert(nb, given=_source_text())
    return nb


@functools.cache
def _source_text() -> frozenset[str]:
    """The text of every markdown cell of the source notebooks: given cells keep it as it is."""
    return frozenset(c.source for path in SOURCES.values()
                     for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")


def _description(grade_id: str) -> str:
    check = BY_ID.get(grade_id)
    return check.description if check else grade_id
