"""Which user a grading kernel runs as and its task cap (autograde/kernel/user.py); no kernel started."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from autograde import limits
from autograde.kernel import user as kernel_user
from tests import requirements


@requirements.SETPRIV
def test_a_root_grader_gives_each_kernel_a_user_of_its_own_with_the_task_cap(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.delenv("GD_GRADING_KERNEL_UID", raising=False)
    users = [kernel_user.for_new_kernel() for _ in range(3)]
    assert len({u.uid for u in users}) == 3
    assert all(u.uid >= kernel_user.UID_BASE and u.tasks == limits.PROCESSES for u in users)
    assert users[0].prefix[1:3] == (f"--reuid={users[0].uid}", f"--regid={users[0].uid}")
    assert "--no-new-privs" in users[0].prefix and "--clear-groups" in users[0].prefix
    assert f"uid {users[0].uid}" in users[0].line() and str(limits.PROCESSES) in users[0].line()


def test_kernels_of_grader_processes_alive_at_once_never_share_a_uid(monkeypatch):
    """Students graded side by side (class grading: one grader process each) never share a uid,
    hence never a task cap: whatever the two pids, up to the largest a pid can be."""
    def uids(pid: int, kernels: int = 40) -> list[int]:
        monkeypatch.setattr(os, "getpid", lambda: pid)
        monkeypatch.setattr(kernel_user, "_counter", kernel_user.itertools.count())
        return [kernel_user._next_uid() for _ in range(kernels)]

    monkeypatch.setattr(kernel_user, "uids_in_use", set)
    pids = (300, 300 + 4096, 300 + 2**12 * 7, 301, 2**22 - 1)
    taken = [set(uids(pid)) for pid in pids]
    assert all(not (a & b) for i, a in enumerate(taken) for b in taken[i + 1:])
    assert max(max(t) for t in taken) < 2**31 and min(min(t) for t in taken) >= kernel_user.UID_BASE
    assert len(set(uids(300, 32))) == 32, "a process's kernels alive at once have uids of their own"


def test_a_root_grader_told_to_keep_root_says_there_is_no_task_cap(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setenv("GD_GRADING_KERNEL_UID", "root")
    user = kernel_user.for_new_kernel()
    assert user.uid is None and user.prefix == () and user.tasks is None
    assert "no task cap" in user.line()


def test_an_ordinary_grader_caps_its_kernels_above_the_tasks_it_already_has(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 4242)
    monkeypatch.setattr(kernel_user, "user_tasks", lambda uid: 30 if uid == 4242 else 0)
    user = kernel_user.for_new_kernel()
    assert user.uid is None and user.prefix == ()
    assert user.tasks == 30 + limits.PROCESSES


def test_the_tasks_of_this_process_are_counted():
    assert kernel_user.user_tasks(os.getuid()) >= 1


@pytest.mark.root(reason="changing owners needs root")
def test_handing_a_folder_to_the_kernel_user_never_follows_links(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("host", encoding="utf-8")
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "sub" / "a.txt").write_text("a", encoding="utf-8")
    (work / "link").symlink_to(outside)
    kernel_user.KernelUser(1900000077, (), 10).give(work)
    assert (work / "sub" / "a.txt").stat().st_uid == 1900000077
    assert (work / "link").lstat().st_uid == 1900000077
    assert outside.stat().st_uid == 0, "the link's target keeps its owner"


@pytest.mark.root(reason="needs root to run a process as another user")
def test_ending_a_kernels_processes_spares_the_same_uid_in_another_pid_namespace():
    uid = kernel_user.UID_BASE - 2  # no kernel gets it
    sleeper = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "sleep", "60"])
    try:
        deadline = time.monotonic() + 5
        while kernel_user.user_tasks(uid) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        here = os.readlink(f"/proc/{sleeper.pid}/ns/pid")
        assert kernel_user.end_all(uid, "pid:[0]") == [], "nothing of the uid is in that namespace"
        assert sleeper.poll() is None, "a process of the same uid elsewhere was killed"
        assert kernel_user.end_all(uid, here) == []
        assert sleeper.wait(5) == -signal.SIGKILL
    finally:
        sleeper.kill()
        sleeper.wait()


#: A process whose thread-group leader exits while a thread runs on: the leader is a zombie.
ZOMBIE_LEADER = """
import os, sys, threading, time
def spin():
    os.write(int(sys.argv[1]), b"x")
    while True:
        time.sleep(0.01)
threading.Thread(target=spin).start()
time.sleep(0.2)
import ctypes
ctypes.CDLL(None).syscall(60, 0)  # exit(2) of the leader alone (x86_64); the thread runs on
"""


def _as(uid: int, *argv: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *argv], **kw)


@pytest.mark.root(reason="needs root (another user) and x86_64's exit(2) number")
@requirements.X86_64
def test_a_zombie_leader_with_a_live_thread_is_found_and_ended():
    import sys

    uid = kernel_user.UID_BASE - 3
    r, w = os.pipe()
    proc = _as(uid, sys.executable, "-c", ZOMBIE_LEADER, str(w), pass_fds=(w,))
    os.close(w)
    try:
        assert os.read(r, 1) == b"x"
        deadline = time.monotonic() + 5
        while not kernel_user.proc_status(proc.pid).get("State", "").strip().startswith("Z"):
            assert time.monotonic() < deadline, "the leader did not exit"
            time.sleep(0.01)
        assert kernel_user._processes_of(uid, None) == [proc.pid], "the running thread was missed"
        assert uid in kernel_user.uids_in_use()
        assert kernel_user.end_all(uid) == []
        assert proc.wait(5) == -signal.SIGKILL
        assert kernel_user.gone(uid) == []
    finally:
        proc.kill()
        proc.wait()
        os.close(r)


@pytest.mark.root(reason="needs root to run a process as another user")
def test_a_uid_is_never_handed_out_while_a_process_holds_it(monkeypatch):
    """Even a zombie holds its uid: the next kernel gets the next free one."""
    monkeypatch.setattr(kernel_user, "_counter", kernel_user.itertools.count())
    taken = kernel_user.UID_BASE + os.getpid() * kernel_user._PER_PROCESS
    zombie = _as(taken, "true")
    sleeper = _as(taken + 1, "sleep", "60")
    try:
        deadline = time.monotonic() + 5
        while not kernel_user.proc_status(zombie.pid).get("State", "").strip().startswith("Z") \
                or kernel_user.user_tasks(taken + 1) == 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert kernel_user._next_uid() == taken + 2
    finally:
        sleeper.kill()
        for p in (zombie, sleeper):
            p.wait()
