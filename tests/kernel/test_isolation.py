"""The isolation contract (``autograde/kernel/isolation.py``), tried from the student's side.

Each attack runs as a cell of a real grading kernel, started cold in a sandbox of its own and
forked from a zygote (needs root and bubblewrap). A second set checks each wall alone, outside any
kernel: the seccomp filter (``autograde.kernel.confine.build``) and the user namespace a root grader's
sandbox enters (``autograde.kernel.confine``).
"""

from __future__ import annotations

import ctypes
import json
import os

import pytest

from autograde.kernel import confine
from autograde.kernel import user as kernel_user
from autograde.kernel.forked import zygote
from tests import requirements
from tests.kernel.test_zygote import run, settings

root_only = pytest.mark.root(reason="kernels get users of their own only under a root grader")

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
    "fallocate": outcome(libc.fallocate(os.open("big", os.O_CREAT | os.O_WRONLY, 0o600), 0, ctypes.c_long(0),
                                        ctypes.c_long(2**30))),
    "threads": __import__("threading").Thread(target=lambda: None).start() is None,
    "seccomp": [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp:")][0],
    "own ipc": os.readlink("/proc/self/ns/ipc") != os.environ["GD_HOST_IPC"],
}))
"""

REFUSED = {"unshare -Ur": 1, "unshare -pf": 1, "user namespace": "EPERM", "pid namespace": "EPERM",
           "network namespace": "EPERM", "mount namespace": "EPERM", "clone, new user namespace": "EPERM",
           "clone, new pid namespace": "EPERM", "setns": "EPERM", "tmpfs": "EPERM", "io_uring_setup": "EPERM",
           "fallocate": "EPERM",
           "threads": True, "seccomp": "2", "own ipc": True}
HOST = {"GD_HOST_IPC": os.readlink("/proc/self/ns/ipc")}


@pytest.fixture
def folders(tmp_path):
    (tmp_path / "class").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    return tmp_path / "class", work


@pytest.mark.sandbox
def test_a_kernel_started_cold_makes_no_namespace_and_no_io_uring(folders):
    hidden, work = folders
    out, km = run(work, [GROW], settings([hidden]), HOST)
    assert not km.forked
    assert json.loads(out[0]) == REFUSED


@pytest.mark.sandbox
@root_only
def test_a_forked_kernel_makes_no_namespace_and_no_io_uring(folders):
    hidden, work = folders
    with zygote.Zygote(hide=[hidden]) as z:
        out, km = run(work, [GROW], settings([hidden], z), HOST)
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


@pytest.mark.root(reason="a process that could make namespaces without the filter")
def test_each_filter_alone_refuses_namespaces_and_io_uring():
    """In a root process, which could otherwise make every namespace, the ``kernel`` filter refuses
    them all and io_uring; the ``zygote`` filter lets a mount namespace through."""
    everything = {"mount", "pid", "user", "io_uring"}
    assert _in_child(confine.build("kernel")) == everything
    assert _in_child(confine.build("zygote")) == everything - {"mount"}
    if open("/proc/sys/kernel/io_uring_disabled").read().strip() == "0":
        assert _in_child(None) == set(), "without a filter these calls work here"


@pytest.mark.root(reason="a root grader's user namespace")
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


# ---- Under nbgrader, a class: what one student's kernel does never reaches another's ----------

#: The attacker's extra cell: a listener on loopback, a double-forked daemon whose thread-group
#: leader exits while a thread runs on (named ``gd-daemon``), which kills what it can see of other
#: users and connects to every port on loopback; the kernel tries another uid.
ATTACK = r"""
import ctypes, os, platform, signal, socket, threading, time
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(64)
EXIT = {"x86_64": 60, "aarch64": 93}[platform.machine()]   # exit(2): this thread only
def ports():  # (/proc/net is the thread-group leader's: gone with it)
    for line in open("/proc/thread-self/net/tcp").readlines()[1:]:
        f = line.split()
        if f[3] == "0A":
            yield int(f[1].split(":")[1], 16)
def haunt():
    libc = ctypes.CDLL(None)
    libc.prctl(15, b"gd-daemon", 0, 0, 0)
    me = os.getuid()
    while True:
        for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
            try:
                if int(open(f"/proc/{pid}/status").read().split("Uid:")[1].split()[0]) != me:
                    os.kill(int(pid), signal.SIGKILL)
            except (OSError, IndexError, ValueError):
                pass
        for port in ports():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).sendall(b"\x00" * 65536)
            except OSError:
                pass
        time.sleep(0.05)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        threading.Thread(target=haunt).start()
        time.sleep(0.2)
        ctypes.CDLL(None).syscall(EXIT, 0)
    os._exit(0)
os.wait()
for uid in (os.getuid() - 1, os.getuid() + 1):
    try:
        os.setuid(uid)
    except OSError:
        pass
time.sleep(1)
"""

#: The honest student's extra cell: marks its kernel (``gd-honest``) and reports whatever of
#: another user it can reach on loopback or see among the processes.
PROBE = r"""
import ctypes, os, socket
ctypes.CDLL(None).prctl(15, b"gd-honest", 0, 0, 0)
me, reached = os.getuid(), []
for line in open("/proc/net/tcp").readlines()[1:]:
    f = line.split()
    if f[3] == "0A" and int(f[7]) != me:
        try:
            socket.create_connection(("127.0.0.1", int(f[1].split(":")[1], 16)), timeout=1).close()
            reached.append(f[7])
        except OSError:
            pass
seen = set()
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    try:
        seen.add(int(open(f"/proc/{pid}/status").read().split("Uid:")[1].split()[0]))
    except (OSError, IndexError):
        pass
print("reached:", reached, "other users:", sorted(seen - {me, 0}))
"""


class Watch:
    """Looks at the machine's tasks every 20 ms: when a ``gd-daemon`` thread and a ``gd-honest``
    process were seen."""

    def __init__(self):
        import threading

        self.daemon: list[float] = []
        self.honest: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        import time

        while not self._stop.wait(0.02):
            now = time.monotonic()
            for pid in (p for p in os.listdir("/proc") if p.isdigit()):
                try:
                    tasks = os.listdir(f"/proc/{pid}/task")
                except OSError:
                    continue
                for tid in tasks:
                    try:
                        comm = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
                    except OSError:
                        continue
                    if comm == "gd-daemon":
                        self.daemon.append(now)
                    elif comm == "gd-honest":
                        self.honest.append(now)

    def stop(self):
        self._stop.set()
        self._thread.join()


def _class_run(tmp, students: dict[str, str]):
    """``nbgrader autograde`` of a class whose students submit the linear-system solution with an
    extra cell each (``students``: name -> cell), watched; (scores, the honest notebook, log, watch)."""
    import nbformat

    from autograde.assignment.registry import ASSIGNMENT
    from autograde.frontends.nbgrader import course as nbg
    from tests.kernel.test_sandbox import ROOT

    course = nbg.make_course(tmp)
    nbg.generate_release(course)
    solution = nbformat.read(ROOT / "tests" / "submissions" / "01_linear_system" / "solution.ipynb", 4)
    for name, cell in students.items():
        nb = nbformat.from_dict(json.loads(json.dumps(solution)))
        nb.cells.insert(1, nbformat.v4.new_code_cell(cell))
        path = tmp / f"{name}.ipynb"
        nbformat.write(nb, path)
        nbg.submit(course, name, {"01_linear_system": path})
    watch = Watch()
    try:
        log = nbg.autograde(course, check=False)
    finally:
        watch.stop()
    graded = nbformat.read(course / "autograded" / "b-honest" / ASSIGNMENT / "01_linear_system.ipynb", 4)
    outputs = [_joined_streams([{k: v for k, v in o.items() if k != "execution_count"} for o in c.get("outputs", [])])
               for c in graded.cells]
    return nbg.gradebook_scores(course)["b-honest"], outputs, log, watch


def _joined_streams(outputs: list[dict]) -> list[dict]:
    """``outputs`` with each run of stream outputs of one name joined: where the kernel's flushes cut
    its printed text depends on timing, not on the student (or on a neighbour)."""
    joined: list[dict] = []
    for out in outputs:
        last = joined[-1] if joined else None
        if last and out.get("output_type") == "stream" == last.get("output_type") and out["name"] == last["name"]:
            joined[-1] = {**last, "text": last["text"] + out["text"]}
        else:
            joined.append(out)
    return joined


@pytest.mark.sandbox
@requirements.SYSCALL_NUMBERS  # the attack's exit(2) number
def test_under_nbgrader_an_attacker_changes_nothing_for_the_student_graded_after_it(tmp_path):
    # a student after the honest one: its spare kernel starts while the honest student is graded
    alone = _class_run(tmp_path / "alone", {"b-honest": PROBE, "c-later": "pass"})
    attacked = _class_run(tmp_path / "attacked", {"a-attacker": ATTACK, "b-honest": PROBE, "c-later": "pass"})
    scores, outputs, log, watch = attacked
    assert watch.daemon, "the attacker's daemon never ran (the attack is broken)"
    assert watch.honest, "the honest kernel was never seen (the probe is broken)"
    assert max(watch.daemon) < min(watch.honest), "a process of the attacker lived on while the honest student ran"
    assert "outlived its notebook" not in log, log[-3000:]
    assert scores == alone[0] and sum(scores.values()) > 0
    probe_output = next(o for o in outputs if o and "reached:" in o[0].get("text", ""))
    assert probe_output[0]["text"] == "reached: [] other users: []\n"
    assert outputs == alone[1], "the honest student's graded notebook differs"


# ---- No kernel outlives its grader ---------------------------------------------------------------

GRADER = r"""
import os, subprocess, sys, time
kernel = subprocess.Popen([sys.executable, "-c", sys.argv[1]], env={**os.environ, "JPY_PARENT_PID": str(os.getpid())})
print(kernel.pid, flush=True)
time.sleep(60)
"""
KERNEL = r"""
import sys, time
sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else "")
from autograde.kernel.limited import die_with_grader
die_with_grader()
time.sleep(60)
"""


def test_a_kernel_started_without_a_sandbox_ends_with_its_grader():
    """The unsandboxed path (``setpriv`` only, or no user switch): the kernel's parent is the grader,
    and the kernel is killed when it ends (``limited.die_with_grader``)."""
    import signal
    import subprocess
    import sys
    import time

    from tests.kernel.test_sandbox import ROOT

    grader = subprocess.Popen([sys.executable, "-c", GRADER, KERNEL], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        kernel = int(grader.stdout.readline())
        time.sleep(1)  # the kernel has imported and asked to die with its parent
        assert os.path.exists(f"/proc/{kernel}")
        grader.send_signal(signal.SIGKILL)
        grader.wait()
        deadline = time.monotonic() + 10
        while kernel_user.proc_status(kernel).get("State", "Z").strip()[:1] != "Z":
            assert time.monotonic() < deadline, "the kernel outlived its grader"
            time.sleep(0.05)
    finally:
        grader.kill()
        grader.wait()


#: A double-forked daemon whose thread-group leader exits while its thread runs on.
DAEMON = r"""
import ctypes, os, platform, threading, time
EXIT = {"x86_64": 60, "aarch64": 93}[platform.machine()]
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        threading.Thread(target=lambda: [time.sleep(0.01) for _ in iter(int, 1)]).start()
        time.sleep(0.1)
        ctypes.CDLL(None).syscall(EXIT, 0)
    os._exit(0)
os.wait()
time.sleep(0.5)
print(os.getuid())
"""


@pytest.mark.sandbox
@root_only
@requirements.SYSCALL_NUMBERS  # the daemon's exit(2) number
def test_a_daemon_with_a_zombie_leader_ends_with_its_forked_kernels_notebook(folders):
    hidden, work = folders
    with zygote.Zygote(hide=[hidden]) as z:
        out, km = run(work, [DAEMON], settings([hidden], z))
        assert km.forked
        uid = int(out[0])
        assert kernel_user._processes_of(uid, None, zombies=True) == [], "a process of the kernel outlived it"
        assert km.survivors == [], "the notebook's own end missed the daemon"


# ---- Memory counted over every process and in-memory folder of a kernel ------------------------

COUNTED = r"""
import json, os
lines = open("/proc/self/cgroup").read().splitlines()
v1 = [l.split(":", 2)[2] for l in lines if "memory" in l.split(":")[1].split(",")]
if v1:
    folder = "/sys/fs/cgroup/memory" + v1[0]
    limit, usage = "memory.limit_in_bytes", "memory.usage_in_bytes"
else:
    folder = "/sys/fs/cgroup" + [l.split(":", 2)[2] for l in lines if l.startswith("0::")][0]
    limit, usage = "memory.max", "memory.current"
read = lambda name: int(open(os.path.join(folder, name)).read())
before = read(usage)
with open("/dev/shm/fill", "wb") as f:
    for _ in range(200):
        f.write(b"x" * 2**20)
print(json.dumps({"limit_mb": read(limit) // 2**20, "tmpfs_counted_mb": (read(usage) - before) // 2**20,
                  "own": os.path.basename(folder).startswith("gdk-")}))
"""


def _counted(work, config):
    out, km = run(work, [COUNTED], config)
    return json.loads(out[0]), km


@pytest.mark.sandbox
@requirements.CGROUP_PARENT
def test_a_kernels_cgroup_counts_its_in_memory_folders_and_goes_with_it(folders):
    hidden, work = folders
    kinds = [("cold", None)]
    with zygote.Zygote(hide=[hidden]) as z:
        if os.geteuid() == 0:
            kinds.append(("forked", z))
        for kind, z_ in kinds:
            seen, km = _counted(work, settings([hidden], z_))
            assert km.forked == (kind == "forked")
            assert seen["own"] and seen["limit_mb"] == 3072, (kind, seen)
            assert seen["tmpfs_counted_mb"] >= 190, (kind, seen)
            assert km.cgroup is None, "the cgroup was not ended with the notebook"


@pytest.mark.sandbox
@root_only
def test_nbgrader_reading_its_configuration_again_gets_the_same_zygotes():
    """nbgrader reads nbgrader_config.py more than once: each read must not start zygotes of its own."""
    assert zygote.per_submission(["/nonexistent-a"]) is zygote.per_submission(["/nonexistent-a"])
