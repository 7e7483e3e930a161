"""The student's kernel as a check sees it: ``Kernel.call`` runs a probe on the grader's inputs there
and hands back validated values (``autograde.assignment.returned``). A check never sees more of the
kernel than this; the grading session makes one per notebook, ``in_process_kernel`` one for
calibration and tests.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from autograde import limits
from autograde.assignment import returned
from autograde.assignment.returned import Value
from gdkit.checks._common import CheckFailed

#: How the kernel runs a probe: ``gdkit.probe.serve`` in the student's namespace.
PROBE_CODE = "__import__('gdkit.probe', fromlist=['serve']).serve(globals(), {target!r}, {needs!r}, {folder!r})"


def read_result(folder: Path, expect: dict[str, Value]) -> dict[str, np.ndarray]:
    """The values a probe left in ``folder``, validated against ``expect`` (``autograde.assignment.returned``)."""
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
