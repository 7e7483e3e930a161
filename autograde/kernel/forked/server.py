"""Fork grading kernels from one process that has already imported what they need.

    python server.py WARM_UP_FILE TRIAL_UID

Runs inside the bubblewrap sandbox of one submission (``autograde.kernel.forked.zygote``), as root with only
CAP_SETUID, CAP_SETGID, CAP_SETPCAP and CAP_SYS_ADMIN; it runs no student code. It executes the
warm-up code (the exercises' imports, TensorFlow) once, in a namespace of its own, checks that a
child can drop its privileges here (as TRIAL_UID; if not, it says ``{"unfit": NS_PID}`` and
ends), then reads one JSON request per line on stdin and answers one JSON line per event on stdout:

    {"ready": NS_PID}                               the imports are done
    {"spawned": ID, "pid": NS_PID} / {"failed": ID, "error": TEXT}
    {"exited": NS_PID, "status": CODE}               a kernel ended (negative: killed by that signal)

A request (``{"id", "scratch", "cwd", "env", "stderr", "uid", "tmpfs_bytes", "argv"}``) forks a
child that becomes what ``limited.py`` started as that user in a sandbox of its own would
be: in the zygote's session and process group, as a cold kernel is in its sandbox's; an IPC namespace of
its own; fresh /tmp and /dev/shm holding what the sandbox mounted there
(read-only folders, masks) and, of the zygote's folder, only its own scratch folder (no other
kernel's folders are visible); no capability left (bounding, ambient and inheritable sets
cleared, no new privileges), checked before going on; its own user and group, no supplementary
groups; the kernels' seccomp filter (``kernel.bpf`` of the zygote's folder, ``autograde.kernel.confine``:
no namespace, no io_uring) added to the zygote's; the kernel's environment and working folder; stdin a pipe nobody writes to, stdout on
/dev/null, stderr to its log; fresh random states. Then ``limited.main(argv)`` sets the
limits and runs the IPython kernel. A child that cannot take a step exits with status 70 before
running anything else.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import select
import stat
import sys

# the kernel program (``autograde/kernel/limited.py``), mounted in the folder above this one in the
# sandbox: a forked kernel's sys.path is then a cold one's, which starts as ``python limited.py``
sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
import limited  # noqa: E402 - once the folder above is on the path

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWIPC = 0x00020000, 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 0x1, 0x2, 0x4, 0x8, 0x20
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 1 << 18
#: per-mount options of /proc/self/mountinfo, as mount flags
_FLAGS = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC,
          "noatime": 0x400, "nodiratime": 0x800, "relatime": 1 << 21}
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 38, 47, 4
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
CAP_LAST_CAP_FILE = "/proc/sys/kernel/cap_last_cap"
_CAP_VERSION_3 = 0x20080522
#: the kernels' seccomp filter, in the zygote's working folder (written by ``autograde.kernel.forked.zygote``)
KERNEL_FILTER_FILE = "kernel.bpf"
FAILED = 70  # exit status of a child that could not become a kernel
#: Seconds between looks for kernels that ended: the grader waits for the news to end a notebook.
REAP_EVERY = 0.02


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    args = [s.encode() if s is not None else None for s in (source, target, fstype)]
    _check(_libc.mount(*args, ctypes.c_ulong(flags), data.encode() if data else None), f"mount {target}")


def _mounts_under(tops: tuple[str, ...]) -> list[tuple[str, int]]:
    """(mount point, per-mount flags) of this namespace's mounts strictly under ``tops``, parents first."""
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            fields = line.split()
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            if any(point.startswith(top + "/") for top in tops):
                found.append((point, sum(_FLAGS.get(option, 0) for option in fields[5].split(","))))
    return found


def _mount_point(path: str, folder: bool) -> None:
    """Create ``path`` (a folder or an empty file) and the folders leading to it, mode 0755 as bwrap does."""
    missing = []
    parent = os.path.dirname(path)
    while not os.path.lexists(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    for folder_path in reversed(missing):
        os.mkdir(folder_path)
        os.chmod(folder_path, 0o755)
    if not os.path.lexists(path):
        if folder:
            os.mkdir(path)
            os.chmod(path, 0o755)
        else:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o444))


def private_tmp(scratch: str, tmpfs_bytes: int) -> None:
    """A mount and an IPC namespace of the caller's own (no System V memory, semaphore or queue of
    another kernel), with fresh /tmp and /dev/shm, in which the sandbox's
    mounts there (read-only folders, masks) are put back as they were, and of the zygote's folder
    only ``scratch``: the view of a kernel started cold in a sandbox of its own."""
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    tops, zygote_root = ("/tmp", "/dev/shm"), os.path.dirname(scratch)
    replay, scratch_flags = [], MS_NOSUID | MS_NODEV
    for point, flags in _mounts_under(tops):
        if point == zygote_root:
            scratch_flags = flags
        elif not point.startswith(zygote_root + "/"):  # other kernels' folders stay out of sight
            replay.append((point, flags))
    if any(scratch.startswith(top + "/") for top in tops):
        replay.append((scratch, scratch_flags))
    # mounts of this namespace, about to be covered, held open to be bound back
    held = [(point, flags, os.open(point, os.O_PATH)) for point, flags in replay]
    for folder in tops:
        _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={tmpfs_bytes}")
    for point, flags, fd in held:
        _mount_point(point, stat.S_ISDIR(os.fstat(fd).st_mode))
        _mount(f"/proc/self/fd/{fd}", point, None, MS_BIND)
        _mount(None, point, None, MS_BIND | MS_REMOUNT | flags)
        os.close(fd)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def become(uid: int) -> None:
    """Drop to ``uid`` (and group ``uid``) for good: no groups, no capabilities, no new privileges."""
    with open(CAP_LAST_CAP_FILE, encoding="ascii") as f:
        last = int(f.read())
    for cap in range(last + 1):
        _check(_libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"drop capability {cap}")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # clears the permitted and effective sets
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), data), "clear capabilities")
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no new privileges")
    with open("/proc/self/status", encoding="ascii") as f:
        status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    caps = [status.get(k, "?") for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")]
    ids = status.get("Uid", "").split() + status.get("Gid", "").split()
    if any(int(c, 16) != 0 for c in caps) or ids[:3] != [str(uid)] * 3 or ids[4:7] != [str(uid)] * 3 \
            or status.get("Groups", "").strip() or status.get("NoNewPrivs", "").strip() != "1":
        raise OSError(f"still privileged after dropping: {status}")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def confine(program: bytes) -> None:
    """Add the seccomp filter ``program`` (``autograde.kernel.confine``'s ``kernel`` filter, a
    ``struct sock_filter`` array) to this process; no new privileges must be set already."""
    if not program or len(program) % 8:
        raise OSError("no seccomp filter for the kernel")
    prog = _SockFprog(len(program) // 8, program)
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "seccomp filter")


#: the kernels' seccomp filter, read at the start (``autograde.kernel.confine.KERNEL_FILTER``)
_KERNEL_FILTER = b""


def child(request: dict, stdin: int, other_fds: tuple[int, ...]) -> None:
    """Become the kernel ``request`` describes, reading ``stdin``; never returns."""
    try:
        private_tmp(request["scratch"], int(request["tmpfs_bytes"]))
        err = os.open(request["stderr"], os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
        null = os.open(os.devnull, os.O_WRONLY)
        become(int(request["uid"]))
        confine(_KERNEL_FILTER)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.dup2(stdin, 0)  # a pipe nobody writes to, as a cold kernel's
        os.dup2(null, 1)
        os.dup2(err, 2)
        for fd in (null, err, stdin, *other_fds):
            os.close(fd)
        if "numpy" in sys.modules:  # a cold kernel's NumPy draws its global state from the OS
            sys.modules["numpy"].random.seed()
    except BaseException as exc:  # noqa: BLE001 - say why on the log, run nothing
        try:
            os.write(2, f"gdgrade: the forked kernel could not start: {exc}\n".encode())
        finally:
            os._exit(FAILED)
    code = 0
    try:
        limited.main(list(request["argv"]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:  # noqa: BLE001 - the kernel's own crash, on its log
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - closed or replaced: nothing left to keep
                pass
        os._exit(code)


def _say(event: dict) -> None:
    os.write(1, (json.dumps(event) + "\n").encode())


def _reap() -> list[int]:
    """Collect the children that ended, say so, and return their pids."""
    ended = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        ended.append(pid)
        _say({"exited": pid, "status": os.waitstatus_to_exitcode(status)})


def trial(uid: int) -> bool:
    """Whether a child can take every step of ``child`` before the kernel (as ``uid``, in this folder)."""
    pid = os.fork()
    if pid == 0:
        try:
            private_tmp(os.getcwd(), 2**20)
            become(uid)
            confine(_KERNEL_FILTER)
            if _libc.unshare(CLONE_NEWNS) == 0:
                raise OSError("a kernel could still make a mount namespace")
        except BaseException as exc:  # noqa: BLE001 - reported on the zygote's log
            os.write(2, f"gdgrade: kernels cannot be forked here: {exc}\n".encode())
            os._exit(FAILED)
        os._exit(0)
    return os.waitpid(pid, 0)[1] == 0


def serve(warm_up: str, trial_uid: int) -> None:
    global _KERNEL_FILTER
    with open(KERNEL_FILTER_FILE, "rb") as f:
        _KERNEL_FILTER = f.read()
    exec(compile(warm_up, "<warm-up>", "exec"), {"__name__": "__warm_up__"})  # the grader's own code
    if not trial(trial_uid):
        _say({"unfit": os.getpid()})
        return
    _say({"ready": os.getpid()})
    buffer = b""
    stdin_of: dict[int, int] = {}
    while True:
        readable, _, _ = select.select([0], [], [], REAP_EVERY)
        for pid in _reap():
            if pid in stdin_of:
                os.close(stdin_of.pop(pid))
        if not readable:
            continue
        chunk = os.read(0, 65536)
        if not chunk:  # the grader closed the pipe: done
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            request = json.loads(line)
            read, write = os.pipe()
            try:
                pid = os.fork()
            except OSError as exc:
                os.close(read)
                os.close(write)
                _say({"failed": request["id"], "error": str(exc)})
                continue
            if pid == 0:
                child(request, read, (write, *stdin_of.values()))
            os.close(read)
            stdin_of[pid] = write  # held open while the kernel lives
            _say({"spawned": request["id"], "pid": pid})


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        serve(f.read(), int(sys.argv[2]))
