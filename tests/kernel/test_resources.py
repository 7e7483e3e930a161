"""How many kernels grading runs at once by default, and how their memory is measured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from autograde import limits
from autograde.kernel import resources


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A machine of 4 cores and 16 GiB available, without cgroup limits unless a test writes them."""
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:   16777216 kB\n", encoding="ascii")
    monkeypatch.setattr(resources, "CGROUP", cgroup)
    monkeypatch.setattr(resources, "MEMINFO", meminfo)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    return cgroup


def test_one_job_per_core_when_memory_is_plenty(machine):
    assert resources.cores() == 4 and resources.available_memory_mb() == 16384
    assert resources.default_jobs() == 4


def test_a_cpu_quota_caps_the_cores(machine):
    (machine / "cpu.max").write_text("150000 100000\n", encoding="ascii")  # 1.5 CPUs
    assert resources.cores() == 2 and resources.default_jobs() == 2


def test_a_container_memory_limit_caps_the_jobs(machine):
    (machine / "memory.max").write_text(str(4 * 2**30), encoding="ascii")
    (machine / "memory.current").write_text(str(2**30), encoding="ascii")
    assert resources.available_memory_mb() == 3072
    assert resources.default_jobs() == 3072 // limits.JOB_MEMORY_MB


def test_too_little_memory_still_grades_one_at_a_time(machine):
    (machine / "memory.max").write_text(str(512 * 2**20), encoding="ascii")
    (machine / "memory.current").write_text("0", encoding="ascii")
    assert resources.default_jobs() == 1


def test_peak_memory_counts_a_process_and_its_children():
    grows = ("import subprocess, sys, time\n"
             "child = subprocess.Popen([sys.executable, '-c', 'b = bytearray(80 * 2**20); import time; time.sleep(30)'])\n"
             "a = bytearray(60 * 2**20)\n"
             "print('ready', flush=True)\n"
             "time.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-c", grows], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        for _ in range(50):  # the child may still be allocating
            peak = resources.peak_rss_mb(proc.pid)
            if peak >= 140:
                break
            subprocess.run(["sleep", "0.1"], check=True)
        assert 140 <= peak < 400, peak
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_the_last_students_of_a_class_get_the_jobs_left_idle():
    from autograde.classroom.classgrade import TailJobs

    tail = TailJobs(students=7, jobs=2)
    assert [tail.next() for _ in range(7)] == [1, 1, 1, 1, 1, 1, 2]
    tail = TailJobs(students=3, jobs=4)
    assert [tail.next() for _ in range(3)] == [1, 2, 4]


def test_kernels_graded_at_once_share_the_cores_for_tensorflows_threads(machine, monkeypatch):
    monkeypatch.delenv("GD_GRADING_KERNEL_THREADS", raising=False)
    assert [resources.kernel_threads(n) for n in (1, 2, 3, 4, 8)] == [4, 2, 1, 1, 1]


def test_the_instructors_thread_count_wins_and_a_bad_one_is_ignored(machine, monkeypatch):
    monkeypatch.setenv("GD_GRADING_KERNEL_THREADS", "3")
    assert resources.kernel_threads(4) == 3
    monkeypatch.setenv("GD_GRADING_KERNEL_THREADS", "none")
    assert resources.kernel_threads(4) == 1
