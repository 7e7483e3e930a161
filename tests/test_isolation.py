"""The isolation contract (``autograde/isolation.py``), tried from the student's side.

Each attack runs as a cell of a real grading kernel, started cold in a sandbox of its own and
forked from a zygote (needs root and bubblewrap). A second set checks each wall alone, outside any
kernel: the seccomp filter (``autograde.confine.build``) and the user namespace a root grader's
sandbox enters (``autograde.confine``).
"""

from __future__ import annotations

import ctypes
import json
import os

import pytest

from autograde import confine, zygote
from tests.test_kernel_manager import require_bubblewrap
from tests.test_zygote import run, settings

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="kernels get users of their own only under a root grader")

#: A kernel tries to grow its sandbox; each entry is what it got (an errno name, or "allowed").
GROW = r"""
import ctypes, errno, json, os, platform, subprocess
libc = ctypes.CDLL(None, use_errno=True)
NEWNS, NEWUSER, NEWPID, NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
def outcome(result):
    return "allowed" if result >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")
def forked(flags):
    number = {"x86_64": 56, "aarch64": 220}[platform.machine()]   # clone(2)
    pid = libc.syscall(number, ctypes.c_ulong(flags | 17), 0, 0, 0, 0)
    if pid == 0:
        os._exit(0)
    if pid > 0:
        os.waitpid(pid, 0)
    return outcome(pid)
params = ctypes.create_string_buffer(120)
os.makedirs("/tmp/big", exist_ok=True)
net = os.open("/proc/self/ns/net", os.O_RDONLY)
print(json.dumps({
    "unshare -Ur": subprocess.run(["unshare", "-Ur", "true"], capture_output=True).returncode,
    "unshare -pf": subprocess.run(["unshare", "-pf", "true"], capture_output=True).returncode,
    "user namespace": outcome(libc.unshare(NEWUSER)),
    "pid namespace": outcome(libc.unshare(NEWPID)),
    "network namespace": outcome(libc.unshare(NEWNET)),
    "mount namespace": outcome(libc.unshare(NEWNS)),
    "clone, new user namespace": forked(NEWUSER),
    "clone, new pid namespace": forked(NEWPID),
    "setns": outcome(libc.setns(net, 0)),
    "tmpfs": outcome(libc.mount(b"tmpfs", b"/tmp/big", b"tmpfs", 0, b"size=100g")),
    "io_uring_setup": outcome(libc.syscall(425, 8, params)),
    "threads": __import__("threading").Thread(target=lambda: None).start() is None,
    "seccomp": [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp:")][0],
}))
"""

REFUSED = {"unshare -Ur": 1, "unshare -pf": 1, "user namespace": "EPERM", "pid namespace": "EPERM",
           "network namespace": "EPERM", "mount namespace": "EPERM", "clone, new user namespace": "EPERM",
           "clone, new pid namespace": "EPERM", "setns": "EPERM", "tmpfs": "EPERM", "io_uring_setup": "EPERM",
           "threads": True, "seccomp": "2"}


@pytest.fixture
def folders(tmp_path):
    (tmp_path / "class").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    return tmp_path / "class", work


def test_a_kernel_started_cold_makes_no_namespace_and_no_io_uring(folders):
    require_bubblewrap()
    hidden, work = folders
    out, km = run(work, [GROW], settings([hidden]))
    assert not km.forked
    assert json.loads(out[0]) == REFUSED


@root_only
def test_a_forked_kernel_makes_no_namespace_and_no_io_uring(folders):
    require_bubblewrap()
    hidden, work = folders
    with zygote.Zygote(hide=[hidden]) as z:
        out, km = run(work, [GROW], settings([hidden], z))
    assert km.forked
    assert json.loads(out[0]) == REFUSED


def _in_child(fn) -> int:
    """Run ``fn()`` (returning an exit status) in a forked child; its exit status."""
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(fn())
        except BaseException:  # noqa: BLE001 - any failure is a status
            os._exit(99)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _libc():
    return ctypes.CDLL(None, use_errno=True)


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def _refused(program: bytes | None) -> set[str]:
    """What a root process refuses, with the filter ``program`` loaded (None: without)."""
    libc = _libc()
    if program is not None:
        libc.prctl(38, 1, 0, 0, 0)  # no new privileges
        if libc.prctl(22, 2, ctypes.byref(_Fprog(len(program) // 8, program)), 0, 0) != 0:
            raise OSError("the filter was not loaded")
    refused = set()
    for name, flags in (("mount", 0x20000), ("pid", 0x20000000), ("user", 0x10000000)):
        if libc.unshare(flags) != 0:
            refused.add(name)
    if libc.syscall(425, 8, ctypes.create_string_buffer(120)) < 0:
        refused.add("io_uring")
    return refused


def _in_child(program: bytes | None) -> set[str]:
    """``_refused(program)`` in a forked child (the filter and the namespaces stay there)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(w, json.dumps(sorted(_refused(program))).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    os.waitpid(pid, 0)
    return set(json.loads(out))


@pytest.mark.skipif(os.geteuid() != 0, reason="a process that could make namespaces without the filter")
def test_each_filter_alone_refuses_namespaces_and_io_uring():
    """In a root process, which could otherwise make every namespace, the ``kernel`` filter refuses
    them all and io_uring; the ``zygote`` filter lets a mount namespace through."""
    everything = {"mount", "pid", "user", "io_uring"}
    assert _in_child(confine.build("kernel")) == everything
    assert _in_child(confine.build("zygote")) == everything - {"mount"}
    if open("/proc/sys/kernel/io_uring_disabled").read().strip() == "0":
        assert _in_child(None) == set(), "without a filter these calls work here"


@pytest.mark.skipif(os.geteuid() != 0, reason="a root grader's user namespace")
def test_a_root_graders_user_namespace_holds_no_user_namespace_and_maps_every_uid_to_itself():
    fd = confine._user_namespace()

    pid = os.fork()
    if pid == 0:
        libc = _libc()
        code = 90
        if libc.setns(fd, 0x10000000) == 0:
            code = 91
            if open("/proc/self/uid_map").read().split() == ["0", "0", "4294967295"]:
                code = 0 if libc.unshare(0x10000000) != 0 and ctypes.get_errno() == 28 else 92  # ENOSPC
        os._exit(code)
    try:
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    finally:
        os.close(fd)
