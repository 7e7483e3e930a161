"""One submission's grader process, as the class grader and Gradescope's entry point start it.

``run(cmd, ...)`` starts the pytest grader of one submission in a cgroup of its own
(``autograde.kernel.cgroup``, where the host gives one): its kernels' cgroups are made below it, so the
ceiling counts the grader and every kernel of that submission together, and an OOM kill stays
inside it. The grader's output goes to a file of which only the last ``TAIL_BYTES`` are read
back, so nothing a submission makes its grader print grows the class grader's own memory. When
the grader ends (or passes ``timeout``), whatever is left in its cgroup is killed; when the class
grader itself ends, its graders are killed with it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from autograde import limits
from autograde.kernel.cgroup import Cgroup

#: The most of a grader's output kept for the instructor's report, bytes.
TAIL_BYTES = 4000


@dataclass
class Ended:
    returncode: int
    tail: str  # the last TAIL_BYTES of what the grader printed (stdout and stderr)
    why: str | None = None  # set when the grader did not end by itself: the OOM killer, the time limit
    survivors: list[int] = field(default_factory=list)  # pids left in its cgroup that would not die


def ceiling_mb(jobs: int, kernel_mb: int | None = None) -> int:
    """The memory ceiling of one submission's grading, MiB: its kernels at once (``jobs``, and one
    started ahead or its zygote) at their own limit each, and the grader's share."""
    return (max(1, jobs) + 1) * (kernel_mb or limits.MEMORY_MB) + limits.GRADER_MEMORY_MB


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float, memory_mb: int) -> Ended:
    """Run ``cmd`` to its end under a memory ceiling of ``memory_mb`` MiB and ``timeout`` seconds."""
    cgroup = Cgroup.make(f"gds-{uuid.uuid4().hex[:12]}", memory_mb, None)
    why, returncode = None, None
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(_dying_with_this_process(cmd), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            if cgroup is not None:
                cgroup.join(proc.pid)  # before it has imported anything, long before its first kernel
            try:
                returncode = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                why = f"the grader passed its time limit of {timeout:g} s and was stopped"
                _kill_group(proc)
                returncode = proc.wait()
        finally:
            if proc.returncode is None:  # interrupted: nothing outlives the class grader
                _kill_group(proc)
                returncode = proc.wait()
            if cgroup is not None and why is None and returncode == -signal.SIGKILL and cgroup.oom_kills():
                why = (f"the grading of this submission passed its memory ceiling of {memory_mb} MiB "
                       f"(its grader and kernels together) and was stopped by the OOM killer")
            survivors = cgroup.end() if cgroup is not None else []
        log.seek(max(0, log.seek(0, os.SEEK_END) - TAIL_BYTES))
        tail = log.read().decode("utf-8", "replace")
    return Ended(returncode, tail, why, survivors)


#: Run by the grader's process before it becomes ``cmd``: it is killed when the class grader ends,
#: however that ends (PR_SET_PDEATHSIG, kept across exec), or ends now if it has already.
_DIE_WITH_PARENT = ("import ctypes, os, signal, sys; ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0); "
                    "os.getppid() == int(sys.argv[1]) or os._exit(1); os.execv(sys.argv[2], sys.argv[2:])")


def _dying_with_this_process(cmd: list[str]) -> list[str]:
    if not sys.platform.startswith("linux"):
        return cmd
    return [sys.executable, "-S", "-c", _DIE_WITH_PARENT, str(os.getpid()), shutil.which(cmd[0]) or cmd[0], *cmd[1:]]


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
