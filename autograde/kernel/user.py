"""Which user a grading kernel runs as, and how many tasks (processes and threads) it may have.

The task cap is RLIMIT_NPROC, which counts every task of a *user* and never applies to root.
A grader running as root therefore starts each kernel as a user of its own (``setpriv``, a
uid from ``UID_BASE`` up, no groups, no capabilities, no new privileges): the cap applies,
one kernel's fork bomb cannot take the task budget of another kernel or of the grader, and
files readable only by root (the grader's own, a Gradescope ``/autograder/source``) are not
readable by the kernel. A grader running as an ordinary user cannot change user: its kernels
are allowed ``limits.PROCESSES`` tasks more than that user had when the kernel started.

``GD_GRADING_KERNEL_UID``: one fixed uid for every kernel, or ``root`` to keep kernels as root
(then without a task cap).
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from autograde import limits, settings

#: First uid given to kernels when the grader is root (no account needed; far above real users).
UID_BASE = 1_900_000_000
#: Kernels of one grader process take uids UID_BASE + pid × 32 + 0…31 in turn: no two grader
#: processes alive at once share a uid (a pid is below 2**22, so every uid stays below 2**31),
#: and a uid that any task still holds (a survivor, a zombie, a dead grader's kernel) is skipped.
_PER_PROCESS = 32
_counter = itertools.count()
_lock = threading.Lock()


@dataclass(frozen=True)
class KernelUser:
    """``uid`` (None: the grader's own user), the ``prefix`` that switches to it (a ``setpriv``
    command line, empty when there is no switch) and ``tasks``, the kernel's RLIMIT_NPROC (None: no cap)."""

    uid: int | None
    prefix: tuple[str, ...]
    tasks: int | None
    #: no other kernel runs as ``uid`` (not a fixed ``GD_GRADING_KERNEL_UID``): what runs as it is this kernel's
    own: bool = False

    def line(self) -> str:
        """One line for the isolation report."""
        if self.tasks is None:
            return "no task cap (kernels run as root)"
        who = f"its own user (uid {self.uid})" if self.uid is not None else "the grading user"
        return f"each kernel runs as {who} with at most {self.tasks} processes and threads"

    def give(self, *paths: Path) -> None:
        """Hand ``paths`` (and everything under them, links not followed) to the kernel's user."""
        if self.uid is None:
            return
        for top in paths:
            os.chown(top, self.uid, self.uid, follow_symlinks=False)
            for folder, dirs, files in os.walk(top):
                for name in (*dirs, *files):
                    os.chown(os.path.join(folder, name), self.uid, self.uid, follow_symlinks=False)


def proc_status(pid: int | str) -> dict[str, str]:
    """The fields of ``/proc/PID/status`` (``PID`` may be ``TGID/task/TID``; values unstripped);
    empty when the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            return dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:  # the process ended meanwhile
        return {}


def pids() -> list[str]:
    """The pids in ``/proc`` (as strings); empty where it cannot be listed."""
    try:
        return [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []


def user_tasks(uid: int) -> int:
    """The tasks (threads of every process) of ``uid`` on this machine, from /proc (0 where absent)."""
    total = 0
    for pid in pids():
        fields = proc_status(pid)
        if fields and int(fields.get("Uid", "-1 ").split()[0]) == uid:
            total += int(fields.get("Threads", "1").strip() or 1)
    return total


def _live(pid: str, fields: dict[str, str]) -> bool:
    """Whether the process ``pid`` still runs: not a zombie, or a zombie thread-group leader with
    a thread that runs on (it holds CPU and memory, and SIGKILL to the group still ends it)."""
    if not fields.get("State", "").strip().startswith("Z"):
        return True
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    return any(t != pid and not proc_status(f"{pid}/task/{t}").get("State", "Z").strip().startswith("Z")
               for t in threads)


def _processes_of(uid: int, pid_namespace: str | None, zombies: bool = False) -> list[int]:
    """The processes of ``uid`` in ``pid_namespace`` (None: anywhere) that still run (a zombie leader
    with a live thread included); with ``zombies``, every one /proc lists (a uid is in use until
    its last zombie is reaped)."""
    found = []
    for pid in pids():
        fields = proc_status(pid)
        if str(uid) not in fields.get("Uid", "").split() or not (zombies or _live(pid, fields)):
            continue
        try:
            if pid_namespace is None or os.readlink(f"/proc/{pid}/ns/pid") == pid_namespace:
                found.append(int(pid))
        except OSError:  # ended meanwhile (a zombie has no namespace to read: anywhere, then)
            if pid_namespace is None:
                found.append(int(pid))
    return found


def end_all(uid: int, pid_namespace: str | None = None, rounds: int = 50) -> list[int]:
    """Kill every process of ``uid`` (a kernel's own user), forking or not, in ``pid_namespace``
    (as ``/proc/PID/ns/pid`` names it; None: anywhere); the pids still running after ``rounds``
    sweeps (empty when all are gone)."""
    for _ in range(rounds):
        pids = _processes_of(uid, pid_namespace)
        if not pids:
            return []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:  # ended meanwhile
                pass
        time.sleep(0.01)
    return _processes_of(uid, pid_namespace)


def live(uid: int) -> list[int]:
    """The processes of ``uid`` anywhere that still run (a zombie leader with a live thread included)."""
    return _processes_of(uid, None)


def gone(uid: int, seconds: float = 2.0) -> list[int]:
    """Wait up to ``seconds`` for every process of ``uid`` to be gone from /proc (zombies
    included: their sandbox's init reaps them); the pids left (empty: none)."""
    deadline = time.monotonic() + seconds
    while True:
        left = _processes_of(uid, None, zombies=True)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.01)


def uids_in_use() -> set[int]:
    """Every uid that a task on this machine holds (real, effective, saved or filesystem), zombies included."""
    used = set()
    for pid in pids():
        used.update(int(u) for u in proc_status(pid).get("Uid", "").split() if u.isdigit())
    return used


def _next_uid() -> int:
    """The next of this process's uids (``UID_BASE`` + pid × 32 + 0…31, in turn) that no task holds,
    zombies included; raises RuntimeError when every one is still held."""
    base = UID_BASE + os.getpid() * _PER_PROCESS
    with _lock:
        used = uids_in_use()
        for _ in range(_PER_PROCESS):
            uid = base + next(_counter) % _PER_PROCESS
            if uid not in used:
                return uid
    raise RuntimeError(f"no uid free for a kernel: processes hold every one of {base}-{base + _PER_PROCESS - 1}")


def for_new_kernel() -> KernelUser:
    """The user and task cap of the next kernel (see the module's docstring)."""
    if os.name != "posix":
        return KernelUser(None, (), None)
    if os.geteuid() != 0:
        return KernelUser(None, (), user_tasks(os.geteuid()) + limits.PROCESSES)
    setting = settings.current().kernel_uid
    setpriv = shutil.which("setpriv")
    if setting == "root" or setpriv is None:
        return KernelUser(None, (), None)
    uid = int(setting) if setting else _next_uid()
    prefix = (setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
              "--inh-caps=-all", "--bounding-set=-all", "--")
    return KernelUser(uid, prefix, limits.PROCESSES, own=not setting)
