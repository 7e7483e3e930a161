"""How much of this machine grading may use (cores, memory) and how much a kernel used.

``default_jobs()`` is the number of notebooks (or students) graded at once when no ``--jobs``
is given: one per core, no more than the free memory holds at ``limits.JOB_MEMORY_MB`` each.
Cores and memory follow the process's CPU affinity and cgroup limits (containers, CI runners).
``kernel_threads(n)`` is the threads TensorFlow may use within one op in each of ``n`` kernels
running at once. ``peak_rss_mb(pid)`` is the high-water mark of resident memory of a kernel's processes.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from autograde import limits, settings

CGROUP = Path("/sys/fs/cgroup")
MEMINFO = Path("/proc/meminfo")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def cores() -> int:
    """CPUs this process may run on: its affinity, capped by a cgroup v2 ``cpu.max`` quota."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = (_read(CGROUP / "cpu.max") or "max").split()
    if len(quota) == 2 and quota[0] != "max":
        count = min(count, max(1, math.ceil(int(quota[0]) / int(quota[1]))))
    return max(1, count)


def available_memory_mb() -> int:
    """MiB that can still be used: ``MemAvailable``, capped by a cgroup v2 ``memory.max``."""
    free = None
    for line in (_read(MEMINFO) or "").splitlines():
        if line.startswith("MemAvailable:"):
            free = int(line.split()[1]) // 1024
    limit, used = _read(CGROUP / "memory.max"), _read(CGROUP / "memory.current")
    if limit and limit != "max" and used:
        room = (int(limit) - int(used)) // 2**20
        free = room if free is None else min(free, room)
    return free if free is not None else limits.JOB_MEMORY_MB


def default_jobs() -> int:
    """Notebooks or students to grade at once: one per core, as many as the free memory holds."""
    return max(1, min(cores(), available_memory_mb() // limits.JOB_MEMORY_MB))


def kernel_threads(kernels_at_once: int) -> int:
    """TensorFlow's intra-op threads for each of ``kernels_at_once`` grading kernels: the cores
    shared among them, at least one (``GD_GRADING_KERNEL_THREADS`` overrides). Two kernels with
    a pool of two threads each on two cores wait on each other's threads: one each grades a
    submission about 0.5 s sooner (``python bench/grading_time.py``)."""
    chosen = settings.current().kernel_threads
    if chosen and chosen > 0:
        return chosen
    return max(1, cores() // max(1, kernels_at_once))


def _descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        for task in (Path(f"/proc/{p}/task").glob("*") if Path(f"/proc/{p}/task").is_dir() else ()):
            stack += [int(c) for c in (_read(task / "children") or "").split()]
    return found


def peak_rss_mb(pid: int | None) -> float:
    """Sum of the resident-memory high-water marks (``VmHWM``) of ``pid`` and its descendants, MiB."""
    if pid is None:
        return 0.0
    total = 0
    for p in _descendants(pid):
        for line in (_read(Path(f"/proc/{p}/status")) or "").splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total / 1024
