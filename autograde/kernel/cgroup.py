"""A cgroup per grading kernel: its memory counted over all its processes and in-memory folders,
its tasks capped, and everything in it ended at once.

``Cgroup.make(name, memory_mb, tasks)`` makes one below the grader's own cgroup (so that a limit
the host sets on the grader still holds for its kernels), where the host lets the grader: cgroup
v1 with the memory and pids controllers mounted under ``/sys/fs/cgroup/<controller>`` and
writable, or cgroup v2 where the grader's cgroup delegates ``memory`` and ``pids``
(``cgroup.subtree_control``, as a container's usually does). A process joins it by writing its
pid into ``procs_files`` (``autograde.kernel.confine`` does so before it starts bubblewrap, so that
everything the kernel starts is in it); ``end()`` kills every process in it (v2: ``cgroup.kill``)
and removes it. Page cache and tmpfs pages are charged to the cgroup of the process that wrote
them: a kernel's /tmp and /dev/shm count against its limit, as its processes do. Where none can
be made, ``make`` returns None and ``line()`` says what bounds a kernel instead.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids")
_made: list[Cgroup] = []  # this process's cgroups not ended yet (ended at exit)
_made_lock = threading.Lock()


def _own(controller: str | None) -> str | None:
    """This process's cgroup path for ``controller`` (v1) or in the unified hierarchy (None)."""
    try:
        lines = Path("/proc/self/cgroup").read_text(encoding="ascii").splitlines()
    except OSError:
        return None
    for line in lines:
        number, names, path = line.split(":", 2)
        if (controller is None and number == "0") or (controller is not None and controller in names.split(",")):
            return path
    return None


def _writable(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


def _parents() -> tuple[str, list[Path]] | None:
    """('v1' or 'v2', the folders kernel cgroups are made in), or None where none can be made."""
    v1 = [ROOT / c / (_own(c) or "/").lstrip("/") for c in CONTROLLERS]
    if all((ROOT / c / "cgroup.procs").exists() for c in CONTROLLERS) and all(_writable(p) for p in v1):
        return "v1", v1
    own = _own(None)
    v2 = ROOT / (own or "/").lstrip("/")
    try:
        delegated = (v2 / "cgroup.subtree_control").read_text(encoding="ascii").split()
    except OSError:
        return None
    if own is not None and set(CONTROLLERS) <= set(delegated) and _writable(v2):
        return "v2", [v2]
    return None


@dataclass
class Cgroup:
    version: str
    folders: list[Path]

    @property
    def procs_files(self) -> list[str]:
        return [str(f / "cgroup.procs") for f in self.folders]

    @classmethod
    def make(cls, name: str, memory_mb: int, tasks: int | None) -> Cgroup | None:
        """A new cgroup ``name`` whose processes may use ``memory_mb`` MiB in all and have ``tasks``
        tasks (None: no cap); None where the host gives the grader no cgroup to make it in."""
        where = _parents()
        if where is None:
            return None
        version, parents = where
        folders = [p / name for p in parents]
        try:
            for folder in folders:
                folder.mkdir()
            memory = str(memory_mb * 2**20)
            if version == "v1":
                (folders[0] / "memory.limit_in_bytes").write_text(memory, encoding="ascii")
                if tasks is not None:
                    (folders[1] / "pids.max").write_text(str(tasks), encoding="ascii")
            else:
                (folders[0] / "memory.max").write_text(memory, encoding="ascii")
                if (folders[0] / "memory.swap.max").exists():
                    (folders[0] / "memory.swap.max").write_text("0", encoding="ascii")
                if tasks is not None:
                    (folders[0] / "pids.max").write_text(str(tasks), encoding="ascii")
        except OSError:
            Cgroup(version, [f for f in folders if f.is_dir()]).end()
            return None
        made = cls(version, folders)
        with _made_lock:
            _made.append(made)
        return made

    def join(self, pid: int) -> None:
        """Put process ``pid`` (with its threads) in the cgroup."""
        for procs in self.procs_files:
            Path(procs).write_text(str(pid), encoding="ascii")

    def pids(self) -> list[int]:
        found: set[int] = set()
        for procs in self.procs_files:
            try:
                found.update(int(p) for p in Path(procs).read_text(encoding="ascii").split())
            except OSError:
                continue
        return sorted(found)

    def peak_mb(self) -> float:
        """The most memory the cgroup's processes and their files held at once, MiB."""
        name = "memory.max_usage_in_bytes" if self.version == "v1" else "memory.peak"
        try:
            return int((self.folders[0] / name).read_text(encoding="ascii")) / 2**20
        except (OSError, ValueError):
            return 0.0

    def oom_kills(self) -> int:
        """Processes the OOM killer has killed because this cgroup passed its memory limit."""
        name = "memory.oom_control" if self.version == "v1" else "memory.events"
        try:
            lines = (self.folders[0] / name).read_text(encoding="ascii").splitlines()
        except OSError:
            return 0
        counts = dict(line.split(None, 1) for line in lines if " " in line)
        return int(counts.get("oom_kill", "0"))

    def end(self, seconds: float = 2.0) -> list[int]:
        """Kill every process in the cgroup and remove it; the pids still in it after ``seconds``
        (empty: all gone, the cgroup removed)."""
        with _made_lock:
            if self in _made:
                _made.remove(self)
        if self.version == "v2" and (self.folders[0] / "cgroup.kill").exists():
            try:
                (self.folders[0] / "cgroup.kill").write_text("1", encoding="ascii")
            except OSError:
                pass
        deadline = time.monotonic() + seconds
        while True:
            left = self.pids()
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if not left:
                break
            if time.monotonic() > deadline:
                return left
            time.sleep(0.01)
        for folder in self.folders:
            for _ in range(100):  # a cgroup whose last process is being reaped is busy for a moment
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
        return []


@atexit.register
def _end_all() -> None:
    """End the cgroups of kernels whose end this process did not see (a kernel that failed to start)."""
    with _made_lock:
        left = list(_made)
    for cgroup in left:
        cgroup.end(seconds=0.5)


def line(memory_mb: int, tasks: int | None, tmpfs_mb: int) -> str:
    """The isolation report's memory line."""
    where = _parents()
    if where is not None:
        cap = f", at most {tasks} tasks" if tasks is not None else ""
        return (f"memory: a cgroup per kernel ({where[0]}): {memory_mb} MiB over all its processes and "
                f"in-memory folders{cap}")
    return (f"memory: no cgroup per kernel here; each process at most {memory_mb} MiB of address space, "
            f"in-memory folders (/tmp, /dev/shm, masks) {tmpfs_mb} MiB each")
