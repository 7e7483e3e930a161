"""Run a command (a student's Jupyter kernel) inside a bubblewrap sandbox.

``wrap(Sandbox(work=...), argv)`` returns ``argv`` prefixed by a ``bwrap`` command line: only
the system folders (``SYSTEM_FOLDERS``) and the ``readonly`` paths are visible, read-only;
``work`` is the writable folder (and the working directory and HOME; ``writable`` adds
others); ``hide`` paths are masked; /tmp and the masks are size-limited in-memory folders;
there is no network but loopback, and no unix socket of the host is reachable. The kernel still talks to its client over Jupyter's IPC transport:
put its sockets in a writable folder. bubblewrap runs through ``autograde.kernel.confine``: inside, no
namespace can be made and io_uring is refused (a user namespace that holds none, a seccomp filter).

When bubblewrap is missing or cannot create namespaces here, ``probe()`` says why and
``wrap`` refuses; grading then relies on time and memory limits only (see ``describe()``).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from autograde.limits import TMPFS_BYTES

#: Runs bubblewrap with the user namespace and seccomp filter that keep the sandbox from growing.
CONFINE = Path(__file__).resolve().parent / "confine.py"

PROBE_TIMEOUT = 10.0  # seconds


@dataclass(frozen=True)
class Sandbox:
    """What the wrapped command may see and write.

    ``work``: the writable folder; the command's working directory and HOME.
    ``hide``: folders (replaced by an empty tmpfs) or files (replaced by /dev/null: read as empty,
    writes discarded) that must not be visible at all, inside the visible ones; missing ones are skipped.
    ``readonly``: extra folders or files made visible read-only, even under a hidden path or /tmp
    (e.g. the repository's ``autograde/`` package, the venv, the Python installation).
    ``writable``: extra folders bound read-write (e.g. a short folder for the kernel's sockets).
    ``share_net``: False unshares the network (only loopback inside).
    """

    work: Path
    hide: tuple[Path, ...] = ()
    readonly: tuple[Path, ...] = ()
    writable: tuple[Path, ...] = ()
    share_net: bool = False
    home: Path | None = None  # HOME inside (default ``work``); must be writable
    #: the command starts by switching to another user (``setpriv``): it keeps the capabilities
    #: to do so (CAP_SETUID, CAP_SETGID, CAP_SETPCAP), which the switch itself then drops
    switch_user: bool = False
    #: the command gives its children mount namespaces of their own (``autograde.kernel.forked.zygote``): it
    #: also keeps CAP_SYS_ADMIN, which each child drops with the rest before running anything else
    mounts: bool = False
    #: the ``cgroup.procs`` files of the cgroup the sandbox runs in (``autograde.kernel.cgroup``), if any
    cgroup: tuple[str, ...] = ()


# Namespaces and process options shared by probe() and wrap().
#: The system folders a sandboxed command sees (read-only), when they exist; the top-level links
#: of a merged /usr (/bin -> usr/bin, ...) are recreated as links. Nothing else of the host is
#: visible: not /home, /root, /run (its unix sockets), /var, /srv, /mnt or other users' files.
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
#: Host files never shown, even inside a visible system folder.
SECRET_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/ssh", "/etc/sudoers", "/etc/sudoers.d")


def _system_mounts() -> list[str]:
    args = []
    for name in SYSTEM_FOLDERS:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    return args


# /tmp and /dev/shm (Python's semaphores): sized in-memory folders every user may write, as on a host
_BASE_MOUNTS = [*_system_mounts(), "--dev", "/dev", "--proc", "/proc",
                *[arg for folder in ("/tmp", "/dev/shm")
                  for arg in ("--perms", "01777", "--size", str(TMPFS_BYTES), "--tmpfs", folder)]]
# As real root, bwrap keeps every capability unless told otherwise: with CAP_SYS_ADMIN the
# command could unmount the masks over hidden paths or remount "/" read-write.
_PROCESS = ["--unshare-pid", "--unshare-ipc", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
_SWITCH_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")


def _confined(kind: str, bwrap: str, cgroup: tuple[str, ...] = ()) -> list[str]:
    """The start of a command line that runs ``bwrap`` with its ``kind`` of confinement
    (``autograde.kernel.confine``: no new namespaces, no io_uring), in ``cgroup`` (procs files) if any."""
    join = ["--join", os.pathsep.join(cgroup)] if cgroup else []
    return [sys.executable, "-S", "-E", str(CONFINE), kind, *join, bwrap]


@functools.lru_cache(maxsize=1)
def probe() -> tuple[bool, str]:
    """Whether bwrap exists and can run `true` with --unshare-net --unshare-pid here, confined
    (``autograde.kernel.confine``: its seccomp filter built, its user namespace made); the reason when not.

    Cached per process (``probe.cache_clear()`` forgets it). The test run times out after
    ``PROBE_TIMEOUT`` seconds.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False, "bwrap not found on PATH (install the Debian package 'bubblewrap')"
    cmd = [*_confined("kernel", bwrap), *_BASE_MOUNTS, "--unshare-net", *_PROCESS, "true"]
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return False, f"bwrap did not finish a test run of `true` within {PROBE_TIMEOUT:g} s"
    except OSError as exc:  # not executable, wrong architecture, ...: report it, do not crash
        return False, f"bwrap could not be started: {exc}"
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        return False, f"bwrap cannot create a sandbox here: {detail[0]}"
    return True, f"{bwrap} works"


def _version() -> str:
    """The installed bubblewrap's version, e.g. '0.8.0' ('unknown version' if it does not say)."""
    bwrap = shutil.which("bwrap")
    try:
        out = subprocess.run([bwrap or "bwrap", "--version"], capture_output=True, text=True,
                             timeout=PROBE_TIMEOUT).stdout.split()
    except (OSError, subprocess.TimeoutExpired):  # probe() already succeeded; a label is enough
        return "unknown version"
    return out[-1] if out else "unknown version"


def _depth(path: Path) -> int:
    return len(path.parts)


def wrap(sandbox: Sandbox, argv: list[str]) -> list[str]:
    """argv wrapped in bwrap: `/` read-only, fresh /dev, /proc and /tmp (tmpfs), `work` bound read-write at the same path and used as cwd and HOME (unless `home`), `writable` bound read-write, `readonly` re-bound read-only after the tmpfs/hide mounts, `hide` paths masked, --unshare-net (unless share_net), --unshare-pid, --unshare-ipc, --die-with-parent, --new-session. Paths are resolved (absolute). Raises RuntimeError naming the reason when probe() is false.

    Mounts after the fixed ones are ordered by path depth, so a folder's mount never covers
    a mount inside it: ``work`` or a ``readonly`` folder inside a hidden folder (or /tmp)
    stays visible, and a hidden path inside ``work`` or a ``readonly`` folder stays hidden.
    For the same path, ``hide`` wins over ``readonly``, which wins over ``work``.
    Missing ``hide`` and ``readonly`` entries are skipped; ``work`` must be an existing folder.
    """
    ok, reason = probe()
    if not ok:
        raise RuntimeError(f"cannot sandbox the command: {reason}")
    work = Path(sandbox.work).resolve()
    if not work.is_dir():
        raise FileNotFoundError(f"sandbox work folder does not exist: {work}")

    mounts: list[tuple[int, int, list[str]]] = [(_depth(work), 0, ["--bind", str(work), str(work)])]
    for entry in sandbox.writable:
        path = Path(entry).resolve()
        if path.is_dir():
            mounts.append((_depth(path), 0, ["--bind", str(path), str(path)]))
    for entry in sandbox.readonly:
        path = Path(entry).resolve()
        if path.exists():
            mounts.append((_depth(path), 1, ["--ro-bind", str(path), str(path)]))
    for entry in (*sandbox.hide, *SECRET_FILES):
        path = Path(entry).resolve()
        if path.is_dir():
            mounts.append((_depth(path), 2, ["--size", str(TMPFS_BYTES), "--tmpfs", str(path)]))
        elif path.exists():
            # --dev-bind: on a plain (nodev) bind, opening /dev/null fails with EACCES instead
            # of reading as empty; writes to it are discarded.
            mounts.append((_depth(path), 2, ["--dev-bind", "/dev/null", str(path)]))
    # the folders leading to a mount are made traversable (bwrap would copy the host's modes,
    # e.g. /root's 0700, and a kernel running as another user could not reach its Python)
    for path in {a for _, _, args in mounts for a in Path(args[-1]).parents}:
        if path != Path("/") and path.parts[1:2] and "/" + path.parts[1] not in SYSTEM_FOLDERS:
            mounts.append((_depth(path), -1, ["--perms", "0755", "--dir", str(path)]))
    mounts.sort(key=lambda m: (m[0], m[1], m[2]))  # same depth: leading folders, binds, read-only, masks

    cmd = [*_confined("zygote" if sandbox.mounts else "kernel", shutil.which("bwrap") or "bwrap", sandbox.cgroup),
           *_BASE_MOUNTS]
    for _, _, args in mounts:
        cmd += args
    # the sandbox's own root is an in-memory folder holding the mount points: read-only, so that
    # nothing can be written beside them (the mounts inside keep their own modes)
    cmd += ["--remount-ro", "/"]
    cmd += ["--chdir", str(work), "--setenv", "HOME", str(Path(sandbox.home or work).resolve())]
    if not sandbox.share_net:
        cmd.append("--unshare-net")
    cmd += _PROCESS
    caps = (*(_SWITCH_CAPS if sandbox.switch_user else ()), *(("CAP_SYS_ADMIN",) if sandbox.mounts else ()))
    cmd += [arg for cap in caps for arg in ("--cap-add", cap)]
    cmd += ["--", *argv]
    return cmd


def describe() -> str:
    """One line for logs: 'isolation: bubblewrap <version> (no network, read-only filesystem except the working folder, no new namespaces, no io_uring)' or 'isolation: NONE — <reason>; grading runs with time and memory limits only'."""
    ok, reason = probe()
    if not ok:
        return f"isolation: NONE — {reason}; grading runs with time and memory limits only"
    return (f"isolation: bubblewrap {_version()} "
            "(no network, read-only filesystem except the working folder, no new namespaces, no io_uring)")
