"""What a sandbox may not do to grow: make namespaces, or use io_uring.

    python -S -E confine.py {kernel|zygote} [--join PROCS_FILES] BWRAP [BWRAP_ARG ...]

runs bubblewrap (``BWRAP ARG ...``, built by ``autograde.kernel.sandbox.wrap``), first joining the
kernel's cgroup (``--join``: its ``cgroup.procs`` files, ``os.pathsep``-separated;
``autograde.kernel.cgroup``) so that everything the sandbox starts is counted there, with two more walls:

- **a user namespace in which no user namespace can be made.** A user namespace gives every
  capability back to whoever makes it (a tmpfs of any size, a pid namespace no scan of the host
  sees). A grader that is not root: bubblewrap's own ``--unshare-user --disable-userns``. A root
  grader gives each kernel a uid of its own (``autograde.kernel.user``), which bubblewrap's user
  namespace cannot hold (it maps one uid): the sandbox enters instead a user namespace made here
  for it alone, which maps every uid to itself and may hold no user namespace
  (``user.max_user_namespaces`` = 0 inside it), and bubblewrap checks that none can be made
  (``--userns FD --assert-userns-disabled``). Nothing in the sandbox holds a capability there but
  a zygote (``autograde.kernel.forked.zygote``), which runs no student code.
- **a seccomp filter** (built with libseccomp, ``--seccomp FD``) that refuses with EPERM:
  io_uring (``io_uring_setup``, ``io_uring_enter``, ``io_uring_register``), ``setns``,
  ``fallocate`` (disk taken faster than the grader's disk watch looks), and
  ``unshare`` and ``clone`` with any flag that makes a namespace; ``clone3``, whose flags a filter
  cannot read, fails with ENOSYS (C libraries then fall back to ``clone``). A ``zygote`` filter
  lets ``unshare`` of a mount or IPC namespace through (each forked kernel gets its own, which
  needs CAP_SYS_ADMIN: kernels hold none) and each forked kernel adds the ``kernel`` filter
  (``KERNEL_FILTER``) before it runs anything else.

When the filter or the user namespace cannot be made, nothing runs: one line on stderr says why
(``gdgrade: ...``) and the exit status is ``FAILED``; ``autograde.kernel.sandbox.probe`` then reports the
sandbox unusable and grading refuses to start. Standard library only: it runs as a script, outside
any package, and its functions are imported by the grader (``autograde.kernel.confine``).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import sys

FAILED = 71
#: Namespace flags of clone(2) and unshare(2).
NAMESPACES = {"CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000, "CLONE_NEWUTS": 0x04000000,
              "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
              "CLONE_NEWNET": 0x40000000, "CLONE_NEWTIME": 0x00000080}
#: What a zygote may unshare for each kernel it forks (``server.private_tmp``).
ZYGOTE_UNSHARES = ("CLONE_NEWNS", "CLONE_NEWIPC")
#: Refused whatever their arguments.
#: fallocate: a kernel would take gigabytes of the host's disk in a millisecond, between two looks of
#: the grader's disk watch (``limits.DISK_CHECK_SECONDS``); written, the same bytes take seconds.
REFUSED = ("io_uring_setup", "io_uring_enter", "io_uring_register", "setns", "fallocate")
#: The file a zygote reads the ``kernel`` filter from (in its home folder), for its kernels.
KERNEL_FILTER = "kernel.bpf"
#: Where the user namespace of a root grader's sandbox maps uids: every uid to itself.
IDENTITY_MAP = "0 0 4294967295\n"

_ALLOW = 0x7FFF0000
_MASKED_EQ = 7


def _errno_action(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


class Unavailable(RuntimeError):
    """The filter or the user namespace cannot be made here."""


def _libseccomp():
    try:
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError as exc:
        raise Unavailable(f"libseccomp is not installed ({exc}; Debian: apt-get install libseccomp2)") from None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.restype = ctypes.c_int
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_ArgCmp)]
    lib.seccomp_export_bpf.restype = ctypes.c_int
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return lib


def _flags_argument() -> int:
    """Which argument of clone(2) holds the flags: the first, except on s390."""
    return 1 if platform.machine().startswith("s390") else 0


def build(kind: str) -> bytes:
    """The BPF program (``struct sock_filter`` array) of the ``kernel`` or ``zygote`` filter, for
    this machine's architecture (other architectures' system calls kill the thread: libseccomp's
    default; on x86_64 that includes the x32 calls)."""
    if kind not in ("kernel", "zygote"):
        raise ValueError(f"no filter {kind!r}")
    lib = _libseccomp()
    ctx = lib.seccomp_init(_ALLOW)
    if not ctx:
        raise Unavailable("libseccomp could not start a filter")
    try:
        def rule(action: int, name: str, *flags: int, arg: int = 0) -> None:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:
                raise Unavailable(f"libseccomp does not know the system call {name} here")
            cmps = (_ArgCmp * max(1, len(flags)))(*[_ArgCmp(arg, _MASKED_EQ, f, f) for f in flags])
            if lib.seccomp_rule_add_array(ctx, action, number, len(flags), cmps) != 0:
                raise Unavailable(f"libseccomp refused the rule for {name}")

        for name in REFUSED:
            rule(_errno_action(errno.EPERM), name)
        rule(_errno_action(errno.ENOSYS), "clone3")
        for flag_name, flag in NAMESPACES.items():
            if not (kind == "zygote" and flag_name in ZYGOTE_UNSHARES):
                rule(_errno_action(errno.EPERM), "unshare", flag)
            if flag_name != "CLONE_NEWTIME":  # clone(2)'s low byte is the exit signal
                rule(_errno_action(errno.EPERM), "clone", flag, arg=_flags_argument())
        read, write = os.pipe()
        try:
            if lib.seccomp_export_bpf(ctx, write) != 0:
                raise Unavailable("libseccomp could not write the filter")
            os.close(write)
            write = -1
            chunks = []
            while chunk := os.read(read, 65536):
                chunks.append(chunk)
        finally:
            os.close(read)
            if write >= 0:
                os.close(write)
        return b"".join(chunks)
    finally:
        lib.seccomp_release(ctx)


def _user_namespace() -> int:
    """An fd of a new user namespace that maps every uid and gid to itself and may hold no user
    namespace (a root grader's; see the module's docstring)."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the namespace's first process: makes it, waits for its maps, closes it to others
        os.close(ready_r)
        os.close(go_w)
        code = 1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.unshare(NAMESPACES["CLONE_NEWUSER"]) != 0:
                os.write(ready_w, f"no user namespace: {os.strerror(ctypes.get_errno())}".encode())
                os._exit(1)
            os.write(ready_w, b"u")
            if os.read(go_r, 1) == b"m":
                with open("/proc/sys/user/max_user_namespaces", "w", encoding="ascii") as f:
                    f.write("0")
                os.write(ready_w, b"d")
                os.read(go_r, 1)  # held until the namespace is opened
                code = 0
        except OSError as exc:
            os.write(ready_w, f"the user namespace cannot be closed: {exc}".encode())
        os._exit(code)
    os.close(ready_w)
    os.close(go_r)
    try:
        said = os.read(ready_r, 512)
        if said != b"u":
            raise Unavailable(said.decode(errors="replace") or "the user namespace's process ended")
        for name in ("uid_map", "gid_map"):
            with open(f"/proc/{pid}/{name}", "w", encoding="ascii") as f:
                f.write(IDENTITY_MAP)
        os.write(go_w, b"m")
        said = os.read(ready_r, 512)
        if said != b"d":
            raise Unavailable(said.decode(errors="replace") or "the user namespace's process ended")
        return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY)
    except OSError as exc:
        raise Unavailable(f"the sandbox's user namespace cannot be made: {exc}") from None
    finally:
        os.close(go_w)
        os.close(ready_r)
        os.waitpid(pid, 0)


def _memfd(data: bytes) -> int:
    fd = os.memfd_create("gdgrade-seccomp", 0)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def bwrap_options(kind: str) -> list[str]:
    """bubblewrap's options for the user namespace and the seccomp filter of a ``kind`` sandbox,
    with the (inheritable) file descriptors they name opened in this process."""
    seccomp = _memfd(build(kind))
    if os.getuid() == 0:
        userns = _user_namespace()
        options = ["--userns", str(userns), "--assert-userns-disabled"]
    else:
        userns = None
        options = ["--unshare-user", "--disable-userns", "--assert-userns-disabled"]
    for fd in (seccomp, userns):
        if fd is not None:
            os.set_inheritable(fd, True)
    return [*options, "--seccomp", str(seccomp)]


def join(procs_files: list[str]) -> None:
    """Move this process into the cgroup whose ``cgroup.procs`` files are given."""
    for procs in procs_files:
        try:
            with open(procs, "w", encoding="ascii") as f:
                f.write(str(os.getpid()))
        except OSError as exc:
            raise Unavailable(f"the kernel's cgroup cannot be joined ({procs}: {exc.strerror})") from None


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[0] not in ("kernel", "zygote"):
        sys.exit(f"usage: {sys.argv[0]} kernel|zygote [--join PROCS_FILES] BWRAP [ARG ...]")
    kind, argv = argv[0], argv[1:]
    procs = []
    if argv[:1] == ["--join"] and len(argv) > 2:
        procs, argv = [p for p in argv[1].split(os.pathsep) if p], argv[2:]
    bwrap, rest = argv[0], argv[1:]
    try:
        join(procs)
        options = bwrap_options(kind)
    except Unavailable as exc:
        os.write(2, f"gdgrade: the sandbox cannot be closed: {exc}\n".encode())
        os._exit(FAILED)
    os.execv(bwrap, [bwrap, *options, *rest])


if __name__ == "__main__":
    main(sys.argv[1:])
