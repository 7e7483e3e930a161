"""Grading kernels forked from one process that has imported TensorFlow already.

A cold grading kernel spends 4-5 s of CPU importing TensorFlow, and a submission has three
notebooks. A ``Zygote`` is one process (``forked/server.py``) in a bubblewrap sandbox that hides
what every kernel forked from it must not see (``contract.hidden_paths``); it imports the
exercises' warm-up code once, while the grader starts up. The pytest graders start one per
submission (its folder hidden too), nbgrader one per submission too (``PerSubmission``). Each notebook's kernel is
then a fork of it (``ForkedKernelProvisioner``, used by ``GradingKernelManager`` when given a
zygote that hides all the kernel must not see): its own user, task cap, memory and file limits,
fresh /tmp and /dev/shm holding only its own scratch folder of the zygote's, no capabilities, and
the environment, working folder, session, standard streams and fresh random state a cold kernel
would have. When its notebook is done, every process of its user in the zygote's pid namespace is
killed. What kernels of one zygote share: the process list (no signal crosses users), the
loopback network and the read-only view of the machine — never a writable folder.

Used only where each kernel gets a user of its own (the grader is root, no fixed
``GD_GRADING_KERNEL_UID``) and bubblewrap works; ``GD_GRADING_FORK_KERNELS=0`` turns it off. If
the zygote cannot start, or a child cannot drop its privileges here, kernels start cold.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from jupyter_client.provisioning import LocalProvisioner

from autograde import limits, settings
from autograde.kernel import confine
from autograde.kernel import user as kernel_user
from autograde.kernel.confine import KERNEL_FILTER
from autograde.kernel.contract import (
    LAUNCHER,
    grading_kernel_env,
    hidden_paths,
    keras_home,
    python_paths,
    read_only_data,
    seed_font_cache,
)
from autograde.kernel.sandbox import Sandbox, probe, wrap

PACKAGE = Path(__file__).resolve().parent
SERVER = PACKAGE / "server.py"
#: Seconds to wait for the zygote's imports before kernels start cold instead.
READY_TIMEOUT = 180.0
#: The isolation report's words for forked kernels.
LINE = "kernels forked from one process per submission that imported TensorFlow once"
#: What the zygote imports besides the exercises' warm-up: the kernel itself.
KERNEL_IMPORTS = "import ipykernel.kernelapp\nimport ipykernel_launcher"


def supported() -> tuple[bool, str]:
    """Whether kernels can be forked here, and why not."""
    if not settings.current().fork_kernels:
        return False, "turned off (GD_GRADING_FORK_KERNELS=0)"
    if not sys.platform.startswith("linux"):
        return False, "not Linux"
    if not probe()[0]:
        return False, "no sandbox"
    if kernel_user.for_new_kernel().uid is None:
        return False, "kernels do not get users of their own (the grader is not root)"
    if settings.current().kernel_uid:  # what one kernel left is ended by killing its user's processes
        return False, "one uid for every kernel (GD_GRADING_KERNEL_UID)"
    return True, "kernels are forked from a process that imported TensorFlow once"


def host_pid(ns_pid: int, parent: int) -> int | None:
    """The pid, as this process sees it, of the process numbered ``ns_pid`` in its own pid
    namespace and descended from ``parent``."""
    for pid in kernel_user.pids():
        fields = kernel_user.proc_status(pid)
        if fields.get("NSpid", "").split()[-1:] != [str(ns_pid)]:
            continue
        ancestor = int(pid)
        for _ in range(8):  # the zygote is at most two levels below bwrap
            ancestor = int(kernel_user.proc_status(ancestor).get("PPid", "0").strip() or 0)
            if ancestor == parent:
                return int(pid)
            if ancestor <= 1:
                break
    return None


class ForkedKernel:
    """The ``subprocess.Popen`` of a forked kernel, as jupyter_client uses it."""

    stdin = stdout = stderr = None

    def __init__(self, zygote: Zygote, ns_pid: int, pid: int):
        self.zygote, self.ns_pid, self.pid = zygote, ns_pid, pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            status = self.zygote.exit_status(self.ns_pid)
            if status is not None:
                self.returncode = status
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(f"forked kernel {self.pid}", timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkedKernelProvisioner(LocalProvisioner):
    """Launches the kernel command of ``GradingKernelManager`` as a fork of its zygote."""

    async def launch_kernel(self, cmd: list[str], **kwargs):
        km = self.parent
        env = {**kwargs["env"], "PWD": str(kwargs["cwd"])}  # as bwrap's --chdir sets it for a cold kernel
        request = {"scratch": str(km.scratch), "cwd": str(kwargs["cwd"]), "env": env,
                   "stderr": str(km.scratch / "kernel-stderr.log"), "uid": km.user.uid,
                   "tmpfs_bytes": limits.TMPFS_BYTES, "argv": cmd[2:]}  # cmd: python limited.py ...
        try:
            self.process = await asyncio.to_thread(km.forked_from.spawn, request)
        except RuntimeError as exc:  # start it cold, as without a zygote
            km.log.warning("%s; the kernel starts cold", exc)
            km.forked = False
            km.sandbox = km._sandbox_for(Path(kwargs["cwd"]))
            return await super().launch_kernel(wrap(km.sandbox, [*km.user.prefix, *cmd]), **kwargs)
        if km.cgroup is not None:  # before any cell runs: what the kernel starts is counted there too
            km.cgroup.join(self.process.pid)
        # signals go to the kernel alone: its process group is the zygote's (what the kernel
        # started is ended by GradingKernelManager, every process of the kernel's user)
        self.pid, self.pgid = self.process.pid, None
        self.cwd = kwargs["cwd"]
        return self.connection_info


class Zygote:
    """One zygote process: started at once, ready when its imports are done; ``close()`` ends it
    and every kernel forked from it."""

    def __init__(self, hide: tuple[Path, ...] | list[Path] = ()):
        self.hidden = hidden_paths(list(hide))
        self.root = Path(tempfile.mkdtemp(prefix="gdz-"))  # each kernel's scratch folder goes in here
        self.root.chmod(0o711)
        home = self.root / "zygote"
        home.mkdir(mode=0o700)
        seed_font_cache(home)
        (home / KERNEL_FILTER).write_bytes(confine.build("kernel"))  # for each kernel forked (server.confine)
        (home / "warm_up.py").write_text(f"{settings.current().course_view.warm_up}\n{KERNEL_IMPORTS}\n", encoding="utf-8")
        self.sandbox = Sandbox(work=home, hide=self.hidden,
                               readonly=(LAUNCHER, SERVER, *python_paths(), *read_only_data()),
                               writable=(self.root,), switch_user=True, mounts=True)
        env = {**grading_kernel_env(dict(os.environ)), "KERAS_HOME": str(keras_home()), "HOME": str(home)}
        self._log = open(self.root / "zygote-stderr.log", "wb")  # closed in close()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._ids = itertools.count()
        self._waiting: dict[int, list] = {}
        self._exited: dict[int, int] = {}
        self.pid: int | None = None  # the zygote's pid as seen here
        self.pid_namespace: str | None = None  # its pid namespace, shared by its kernels
        self.problem: str | None = None
        trial_uid = str(kernel_user.UID_BASE - 1)  # a uid no kernel gets
        self.process = subprocess.Popen(wrap(self.sandbox, [sys.executable, str(SERVER), str(home / "warm_up.py"),
                                                            trial_uid]),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                        env=env, cwd=home)
        threading.Thread(target=self._read, name="zygote", daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            event = json.loads(line)
            with self._lock:
                if "unfit" in event:
                    self.problem = f"kernels cannot be forked here ({self._tail()})"
                    self._ready.set()
                elif "ready" in event:
                    self.pid = host_pid(event["ready"], self.process.pid)
                    try:
                        self.pid_namespace = os.readlink(f"/proc/{self.pid}/ns/pid")
                    except (OSError, TypeError):
                        self.problem = "the zygote's process was not found"
                    self._ready.set()
                elif "exited" in event:
                    self._exited[event["exited"]] = event["status"]
                else:
                    slot = self._waiting[event.get("spawned", event.get("failed"))]
                    slot.append(event)
                    slot[0].set()
        with self._lock:
            self.problem = self.problem or f"the zygote ended ({self._tail()})"
            self._ready.set()
            for slot in self._waiting.values():
                slot[0].set()

    def _tail(self) -> str:
        try:
            lines = (self.root / "zygote-stderr.log").read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            lines = []
        return lines[-1] if lines else f"exit status {self.process.poll()}"

    def ready(self, timeout: float = READY_TIMEOUT) -> bool:
        """Whether kernels can be forked (waiting for the imports up to ``timeout`` s)."""
        self._ready.wait(timeout)
        return self._ready.is_set() and self.problem is None

    def covers(self, hidden: tuple[Path, ...]) -> bool:
        """Whether the zygote's sandbox hides everything in ``hidden`` (a kernel's hidden paths)."""
        return all(any(p == h or h in p.parents for h in self.hidden) for p in hidden)

    def spawn(self, request: dict) -> ForkedKernel:
        """Fork a kernel (``forked/server.py`` says what ``request`` holds); raises RuntimeError on failure."""
        if not self.ready():
            raise RuntimeError(f"no zygote: {self.problem or 'its imports did not finish'}")
        done = threading.Event()
        with self._lock:
            request = {**request, "id": next(self._ids)}
            slot = self._waiting[request["id"]] = [done]
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
        if not done.wait(30) or len(slot) < 2 or "spawned" not in slot[1]:
            raise RuntimeError(f"the zygote could not fork a kernel: {slot[1:] or self.problem}")
        ns_pid = slot[1]["pid"]
        pid = host_pid(ns_pid, self.pid)
        if pid is None:
            raise RuntimeError("the forked kernel ended at once (see its kernel-stderr.log)")
        return ForkedKernel(self, ns_pid, pid)

    def exit_status(self, ns_pid: int) -> int | None:
        """How the kernel ``ns_pid`` ended, or None while it runs (a zygote gone takes its kernels)."""
        with self._lock:
            if ns_pid in self._exited:
                return self._exited[ns_pid]
        return -signal.SIGKILL if self.process.poll() is not None else None

    def close(self) -> None:
        """End the zygote and every kernel forked from it; remove its folders."""
        try:
            self.process.stdin.close()
        except OSError:
            pass
        self.process.kill()  # bwrap's pid 1 goes, and the whole pid namespace with it
        self.process.wait()
        self._log.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def __deepcopy__(self, memo) -> Zygote:
        """A handle on one process: traitlets' configuration copies it as itself."""
        return self

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class PerSubmission:
    """nbgrader's zygotes: one per submission (nbgrader grades one student's notebooks after
    another, the class in one process), never one for two students. ``begin(folder)`` makes the
    submission graded in ``folder`` (``autograded/<student>/<assignment>``) the current one, ends
    every other zygote (and so every process left of their kernels: their pid namespaces go) and
    starts this one's unless ``ahead`` did; ``ahead(folder)`` starts the next submission's zygote
    while the current one is still graded. A kernel is forked only from the zygote of the folder it
    was given (``for_folder``): a background run or a spare of another submission starts cold."""

    def __init__(self, hide: tuple[str, ...] | list[str] = ()):
        self.hide = [Path(p) for p in hide]
        self._lock = threading.Lock()
        self._zygotes: dict[str, Zygote] = {}
        self.current: Zygote | None = None

    @staticmethod
    def _key(folder) -> str:
        return str(Path(folder).resolve())

    def begin(self, folder) -> Zygote:
        """The zygote of the submission in ``folder``, now the current one; when it was not, every
        other one ends."""
        key = self._key(folder)
        with self._lock:
            if self.current is not None and self._zygotes.get(key) is self.current:
                return self.current  # still this submission (the next one's, started ahead, stays)
            old = [z for k, z in self._zygotes.items() if k != key]
            self._zygotes = {k: z for k, z in self._zygotes.items() if k == key}
            if key not in self._zygotes:
                self._zygotes[key] = Zygote(hide=self.hide)
            self.current = self._zygotes[key]
        for z in old:
            z.close()
        return self.current

    def ahead(self, folder) -> Zygote:
        """Start the zygote of the submission graded next, in ``folder``."""
        key = self._key(folder)
        with self._lock:
            if key not in self._zygotes:
                self._zygotes[key] = Zygote(hide=self.hide)
            return self._zygotes[key]

    def for_folder(self, folder) -> Zygote | None:
        """The zygote of the submission in ``folder`` if it is the current one, else None."""
        with self._lock:
            z = self._zygotes.get(self._key(folder)) if folder else None
            return z if z is not None and z is self.current else None

    def close(self) -> None:
        with self._lock:
            zygotes = list(self._zygotes.values())
            self._zygotes.clear()
            self.current = None
        for z in zygotes:
            z.close()

    def __deepcopy__(self, memo) -> PerSubmission:
        return self


_per_submission: dict[tuple[str, ...], PerSubmission] = {}
_per_submission_lock = threading.Lock()


def per_submission(hide: tuple[str, ...] | list[str] = ()) -> PerSubmission | None:
    """This process's zygotes for kernels that hide ``hide``, one per submission
    (``PerSubmission``: nbgrader reads its configuration more than once, and gets the same one
    each time), ended at exit; None where kernels are not forked. Call it from the thread that
    lives longest (bubblewrap ends a zygote with the thread that started it: ``begin`` runs in
    nbgrader's main thread)."""
    if not supported()[0]:
        return None
    key = tuple(sorted(str(p) for p in hide))
    with _per_submission_lock:
        if key not in _per_submission:
            _per_submission[key] = PerSubmission(hide)
        return _per_submission[key]


def of(zygote, folder=None) -> Zygote | None:
    """The zygote to fork a kernel given ``folder`` from: ``zygote`` itself, or for nbgrader's
    ``PerSubmission`` the one of ``folder``'s submission (with no folder, the current one)."""
    if isinstance(zygote, PerSubmission):
        return zygote.for_folder(folder) if folder is not None else zygote.current
    return zygote


@atexit.register
def _close_all() -> None:
    with _per_submission_lock:
        holders = list(_per_submission.values())
        _per_submission.clear()
    for holder in holders:
        holder.close()
