"""The one judge of both front ends: the kernel computes, the grader decides.

A check's ``judge(kernel, seed)`` runs in the grader's process, outside the student's kernel.
It chooses inputs (from ``seed``, which the kernel never sees), asks the kernel to run a probe
on them (``kernel.call``), and compares the values that come back with its own reference,
raising ``CheckFailed`` with the message the student reads. Values cross the boundary as data
only: ``.npz`` written by the grader, ``.npz`` or a JSON message written by the kernel, read
without following links, only from regular files, within a size limit.
"""

from __future__ import annotations

import sys
import time
import traceback
from dataclasses import dataclass

from nbclient.exceptions import CellTimeoutError, DeadKernelError

from autograde.assignment.probe import Kernel, in_process_kernel, read_result  # noqa: F401 - the judge's vocabulary
from gdkit.checks._common import CheckFailed


@dataclass
class Verdict:
    """The grader's decision on one check: passed or not, and the message for the student."""

    grade_id: str
    passed: bool
    message: str
    seconds: float = 0.0


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
