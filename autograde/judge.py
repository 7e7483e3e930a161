"""The one judge of both front ends: the kernel computes, the grader decides.

A check's ``judge(kernel, seed)`` runs in the grader's process, outside the student's kernel.
It chooses inputs (from ``seed``, which the kernel never sees), asks the kernel to run a probe
on them (``kernel.call``), and compares the values that come back with its own reference,
raising ``CheckFailed`` with the message the student reads. Values cross the boundary as data
only: ``.npz`` written by the grader, ``.npz`` or a JSON message written by the kernel, read
without following links, only from regular files, within a size limit.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from autograde import limits, returned
from autograde.returned import Value
from gdkit.checks._common import CheckFailed

#: How the kernel runs a probe: ``gdkit.probe.serve`` in the student's namespace.
PROBE_CODE = "__import__('gdkit.probe', fromlist=['serve']).serve(globals(), {target!r}, {needs!r}, {folder!r})"


@dataclass
class Verdict:
    """The grader's decision on one check: passed or not, and the message for the student."""

    grade_id: str
    passed: bool
    message: str
    seconds: float = 0.0


def read_result(folder: Path, expect: dict[str, Value]) -> dict[str, np.ndarray]:
    """The values a probe left in ``folder``, validated against ``expect`` (``autograde.returned``)."""
    return returned.read(folder, expect)


class Kernel:
    """The student's kernel as a judge sees it: somewhere to run probes on the grader's inputs.

    ``run_code(source) -> outputs`` executes code in the kernel (a cell that is not the
    student's and is not stored); ``scratch`` is a folder both sides can reach; ``owner``, the uid
    the kernel runs as when it is not the grader's (each probe's folder is handed to it).
    """

    def __init__(self, run_code: Callable[[str], list], scratch: Path, cell_timeout: int,
                 owner: int | None = None):
        self._run_code = run_code
        self.scratch = Path(scratch)
        self.cell_timeout = cell_timeout
        self.owner = owner

    def call(self, target: str, needs: tuple[str, ...] | list[str], expect: dict[str, Value],
             hint: str = "", **inputs) -> dict[str, np.ndarray]:
        """Run probe ``target`` ("module:function") on the student's ``needs`` and ``inputs`` (arrays);
        its values, each validated against ``expect`` before any judge sees it. ``hint`` follows the
        message when the values are not what was expected."""
        folder = self.scratch / f"probe-{secrets.token_hex(8)}"
        folder.mkdir(mode=0o700)
        try:
            _write_inputs(folder, inputs)
            if self.owner is not None:
                os.chown(folder / "in.npz", self.owner, self.owner)
                os.chown(folder, self.owner, self.owner)
            started = time.monotonic()
            outputs = self._run_code(PROBE_CODE.format(target=target, needs=tuple(needs), folder=str(folder)))
            ran = time.monotonic() - started
            for out in outputs:
                if out.get("output_type") == "error":
                    # the grader's own interrupt, not a kernel that merely names one
                    if out.get("ename") in ("CellTimeoutError", "KeyboardInterrupt") and ran >= self.cell_timeout:
                        raise CheckFailed(f"time limit: this check ran longer than the per-cell limit of "
                                          f"{self.cell_timeout} s (an endless loop?)")
                    raise CheckFailed(returned.quoted(returned.clean(
                        f"{out.get('ename')}: {out.get('evalue')}"[:10_000])))
            try:
                return returned.read(folder, expect)
            except CheckFailed as exc:
                if hint and "│" not in str(exc):
                    raise CheckFailed(f"{exc}\n{hint}") from None
                raise
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def values(self, **expect: Value) -> dict[str, np.ndarray]:
        """The notebook's variables named in ``expect``, as validated arrays, by name."""
        names = tuple(expect)
        got = self.call("gdkit.probe:values", names,
                        {f"v{i}": replace(v, label=n) for i, (n, v) in enumerate(expect.items())})
        return {n: got[f"v{i}"] for i, n in enumerate(names)}


def in_process_kernel(ns: dict, scratch: Path, cell_timeout: int = limits.CELL_TIMEOUT) -> Kernel:
    """A ``Kernel`` that runs probes in this process on namespace ``ns``: for calibration and for
    testing judges on known answers without a notebook (never for grading a submission)."""

    def run_code(code: str) -> list:
        exec(code, ns)
        return []

    return Kernel(run_code, scratch, cell_timeout)


def _write_inputs(folder: Path, inputs: dict) -> None:
    fd = os.open(folder / "in.npz", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        np.savez(f, **{k: np.asarray(v) for k, v in inputs.items()})


def judge(check, kernel: Kernel, seed: int) -> Verdict:
    """Run ``check.judge`` outside the kernel; a wrong value is a failed check with its message.

    An error in the grader's own code is reported to the instructor on stderr and to the
    student as an internal error, never as a traceback through grader code.
    """
    start = time.perf_counter()
    try:
        check.judge(kernel, seed)
        passed, message = True, ""
    except CheckFailed as exc:
        passed, message = False, str(exc)
    except (DeadKernelError, CellTimeoutError):
        raise  # the front end says why the rest of the notebook was not judged
    except Exception as exc:  # noqa: BLE001 - a grader bug must not look like the student's mistake
        traceback.print_exc(file=sys.stderr)
        passed, message = False, (f"internal grader error ({type(exc).__name__}) while judging this check: "
                                  "please tell your instructor")
    return Verdict(check.grade_id, passed, message, round(time.perf_counter() - start, 3))


def follows_from(grade_id: str) -> str:
    """The line an end-to-end check adds when a unit check it depends on did not pass."""
    return (f"這是端對端檢查:只有在上面的 `{grade_id}` 通過時才給分,而它沒有通過,請先修正那一項。\n"
            f"This end-to-end check follows from `{grade_id}` above, which did not pass: it earns its points "
            f"only when `{grade_id}` passes. Fix that one first.")


def gate(check, verdict: Verdict, verdicts: dict[str, Verdict]) -> Verdict:
    """``verdict`` of ``check``, failed unless every unit check it follows passed in ``verdicts``
    (the same grading): a property anyone can produce earns points only with the functions behind it."""
    first = next((g for g in check.follows if not (g in verdicts and verdicts[g].passed)), None)
    if first is None:
        return verdict
    message = (f"{verdict.message}\n" if not verdict.passed and verdict.message else "") + follows_from(first)
    return Verdict(verdict.grade_id, False, message, verdict.seconds)


def verdict_outputs(verdict: Verdict, description: str) -> list:
    """A test cell's outputs for nbgrader: a line when passed (full points), an error when not (zero)."""
    import nbformat

    if verdict.passed:
        return [nbformat.v4.new_output("stream", name="stdout",
                                       text=f"✔ 通過(由評分程式判定)\n✔ passed (judged by the grader): {description}\n")]
    return [nbformat.v4.new_output("error", ename="CheckFailed", evalue=verdict.message,
                                   traceback=["✘ 未通過(由評分程式判定)", f"✘ failed (judged by the grader): {description}",
                                              verdict.message])]
