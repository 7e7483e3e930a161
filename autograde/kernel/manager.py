"""The kernel of every grading run, for both front ends (pytest graders and nbgrader).

``GradingKernelManager`` is a jupyter_client ``AsyncKernelManager`` whose kernel is
``limited.py`` (an IPython kernel under memory and file-size limits), wrapped in a
bubblewrap sandbox (``autograde.kernel.sandbox``). The kernel never works in the folder it is given
(``cwd``, e.g. nbgrader's ``autograded/<student>/<assignment>/``): it works in a private copy
inside its scratch folder (regular files and folders only: no links, no notebooks), so nothing it leaves
behind is ever in a folder the host later reads or writes. The repository (graders,
solutions, tests), the course's submissions and gradebook are hidden; there is no network.
The kernel's environment is an allow-list: no engine setting (such as the grading seed)
reaches it. It talks over unix sockets in the scratch folder, where the grader's probes also
exchange values.

Given a zygote (``autograde.kernel.forked.zygote``: one per submission under both front ends, where the grader
is root), the kernel is forked from it instead of started cold: same
folders, user, limits and environment, inside the zygote's sandbox.

Without a working sandbox the kernel does not start, unless unsandboxed grading is allowed
explicitly (``GD_GRADING_ALLOW_UNSANDBOXED=1`` or ``c.GradingKernelManager.allow_unsandboxed``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import zmq
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from traitlets import Any, Bool, DottedObjectName, Integer, List, Type, Unicode

from autograde import limits, settings
from autograde.kernel import cgroup, jupyter_private  # noqa: F401 - checks the jupyter versions first
from autograde.kernel import user as kernel_user
from autograde.kernel.cgroup import Cgroup
from autograde.kernel.contract import (
    LAUNCHER,
    grading_kernel_env,
    hidden_paths,
    keras_home,
    python_paths,
    read_only_data,
    seed_font_cache,
)
from autograde.kernel.sandbox import Sandbox, describe, probe, wrap

#: Seconds between looks at whether a killed kernel has ended.
WAIT_POLL = 0.01

class SandboxUnavailable(RuntimeError):
    """Grading refused: no sandbox here, and unsandboxed grading was not allowed."""


#: Tasks of a cold kernel's cgroup besides the kernel's own: bubblewrap and the sandbox's init.
CGROUP_EXTRA_TASKS = 4


def memory_line() -> str:
    """What bounds a kernel's memory, for the isolation report: a cgroup per kernel where the host
    gives one (``autograde.kernel.cgroup``), else each bound that holds instead."""
    return cgroup.line(limits.MEMORY_MB, limits.PROCESSES, limits.TMPFS_BYTES // 2**20)


def require_sandbox(allowed: bool = False, user: kernel_user.KernelUser | None = None) -> str:
    """The isolation line of this run (with ``user``'s line, default that of a new kernel); raises
    ``SandboxUnavailable`` naming the fix when there is no sandbox and unsandboxed grading is not
    ``allowed`` (nor allowed by ``GD_GRADING_ALLOW_UNSANDBOXED``)."""
    ok, reason = probe()
    if ok or allowed or settings.current().allow_unsandboxed:
        return f"{describe()}; {(user or kernel_user.for_new_kernel()).line()}; {memory_line()}"
    raise SandboxUnavailable(
        f"refusing to grade without a sandbox: {reason}. Fix: install bubblewrap (Debian: apt-get install "
        "bubblewrap), or allow unsandboxed grading explicitly with GD_GRADING_ALLOW_UNSANDBOXED=1 "
        "(nbgrader: c.GradingKernelManager.allow_unsandboxed = True); submissions could then read "
        "the graders and write anywhere the grading user can.")


def copy_private(origin: Path, dest: Path, max_bytes: int = limits.WORK_MAX_BYTES) -> None:
    """Copy the regular files and folders under ``origin`` to ``dest``, never following a link and
    skipping links, special files and notebooks, up to ``max_bytes`` in all. Notebooks are the
    files nbgrader writes into the folder while it grades, one after another: skipped, a kernel
    sees the same folder whichever notebook was graded first (``autograde.frontends.nbgrader.background``)."""
    dest.mkdir(parents=True, exist_ok=True)
    budget = [max_bytes]

    def walk(src: Path, dst: Path) -> None:
        with os.scandir(src) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    (dst / entry.name).mkdir(exist_ok=True)
                    walk(Path(entry.path), dst / entry.name)
                elif entry.is_file(follow_symlinks=False) and not entry.name.endswith(".ipynb"):
                    size = entry.stat(follow_symlinks=False).st_size
                    if size > budget[0]:
                        continue
                    budget[0] -= size
                    fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                    with os.fdopen(fd, "rb") as f_in, open(dst / entry.name, "wb") as f_out:
                        shutil.copyfileobj(f_in, f_out)

    if origin.is_dir() and not origin.is_symlink():
        walk(origin, dest)


def disk_used(folder: Path, max_entries: int = limits.DISK_ENTRIES) -> tuple[int, int]:
    """(bytes of disk used, entries) under ``folder``, links not followed; the count stops past ``max_entries``."""
    used, entries = 0, 0
    stack = [str(folder)]
    while stack and entries <= max_entries:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    entries += 1
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:  # removed meanwhile
                        continue
                    used += st.st_blocks * 512  # sparse files count what they hold
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    if entries > max_entries:
                        break
        except OSError:  # a folder removed or made unreadable meanwhile
            continue
    return used, entries


def over_disk_limit(folder: Path | None) -> str | None:
    """Why the kernel's folders are over the disk limits, or None."""
    if folder is None:
        return None
    used, entries = disk_used(folder, limits.DISK_ENTRIES)
    if entries > limits.DISK_ENTRIES:
        return f"disk limit: the kernel's folders held more than {limits.DISK_ENTRIES:,} files"
    if used > limits.DISK_BYTES:
        return f"disk limit: the kernel's folders held more than {limits.DISK_BYTES // 2**20} MiB"
    return None


#: Largest frame of a message the grader reads from a kernel, bytes (a cell keeps at most
#: ``limits.CELL_OUTPUT_BYTES`` of output, but one print of a few megabytes is an honest mistake):
#: a larger one drops the connection before it is read (zmq's MAXMSGSIZE).
MESSAGE_FRAME_MAX_BYTES = 8 * 2**20
#: Messages of one kernel socket queued in the grader before more are dropped (zmq's RCVHWM; an
#: honest kernel sends a few a second, the grader reads them as they come): with the frame limit,
#: at most 256 MiB wait per socket.
MESSAGE_QUEUE = 32
#: Largest header, parent header or metadata frame decoded, bytes, and most JSON objects and lists
#: (``{``, ``[``) any frame may hold: decoding builds a bounded number of objects.
MESSAGE_HEAD_MAX_BYTES = 64 * 2**10
MESSAGE_MAX_ITEMS = 20_000
#: What a message part too deeply nested or too large to decode becomes: a line of output saying so.
_UNDECODABLE = {"name": "stdout", "text": "[output limit: a message too large or nested too deeply to read was "
                                          "dropped]\n"}
#: A message dropped whole (its header could not be read): no cell's, so nbclient passes it by.
_DROPPED = {"header": {"msg_type": "gd_dropped", "msg_id": ""}, "msg_id": "", "msg_type": "gd_dropped",
            "parent_header": {}, "metadata": {}, "content": {}, "buffers": []}


def _items(frame: bytes) -> int:
    return frame.count(b"{") + frame.count(b"[")


def bound_messages(km) -> None:
    """Bound what the grader holds and decodes of ``km``'s kernel's messages (its sockets and
    session only): frames over ``MESSAGE_FRAME_MAX_BYTES`` are never read, at most ``MESSAGE_QUEUE``
    messages wait per socket, a message whose header parts are over ``MESSAGE_HEAD_MAX_BYTES`` or
    any part over ``MESSAGE_MAX_ITEMS`` objects is not decoded (one line of output says so where
    its header could be read), binary buffers are dropped, and JSON too deep for the decoder becomes
    one line of output instead of an error in the grader."""
    km.context.setsockopt(zmq.MAXMSGSIZE, MESSAGE_FRAME_MAX_BYTES)
    km.context.setsockopt(zmq.RCVHWM, MESSAGE_QUEUE)
    session = km.session
    if getattr(session.deserialize, "bounded", False):
        return
    unpack, deserialize = session.unpack, session.deserialize

    def bounded_unpack(data):
        try:
            return unpack(data)
        except RecursionError:
            return dict(_UNDECODABLE)

    def bounded_deserialize(msg_list, content=True, copy=True):
        frames = [f if isinstance(f, bytes) else bytes(f.bytes) for f in msg_list[:5]]
        if len(frames) < 5 or any(len(f) > MESSAGE_HEAD_MAX_BYTES or _items(f) > 1000 for f in frames[1:4]):
            return {**_DROPPED, "header": dict(_DROPPED["header"])}
        heavy = _items(frames[4]) > MESSAGE_MAX_ITEMS
        try:  # the signature is checked either way; a heavy content is not decoded
            message = deserialize(frames, content=content and not heavy, copy=True)
        except (ValueError, TypeError, KeyError):  # unsigned, replayed or malformed: no one's message
            return {**_DROPPED, "header": dict(_DROPPED["header"])}
        if heavy:
            message["content"] = {**_UNDECODABLE, "status": "error", "ename": "OutputLimit",
                                  "evalue": _UNDECODABLE["text"].strip(), "traceback": []}
            if not message["msg_type"].endswith("_reply"):
                message["msg_type"] = message["header"]["msg_type"] = "stream"
        message["buffers"] = []  # only widgets use them, and grading keeps no widget state
        return message

    bounded_unpack.bounded = bounded_deserialize.bounded = True
    session.unpack, session.deserialize = bounded_unpack, bounded_deserialize


class GradingKernelManager(AsyncKernelManager):
    """Starts ``limited.py`` under ``memory_mb`` MiB in a bubblewrap sandbox, in a private copy
    of its working folder."""

    #: ready when the kernel has answered (autograde/kernel/client.py)
    client_class = DottedObjectName("autograde.kernel.client.GradingKernelClient")
    client_factory = Type(klass="autograde.kernel.client.GradingKernelClient")
    memory_mb = Integer(limits.MEMORY_MB, help="Address-space limit of the kernel, MiB.").tag(config=True)
    hide = List(Unicode(), help="More paths the kernel must not see.").tag(config=True)
    allow_unsandboxed = Bool(False, help="Grade even where no sandbox can be made (submissions could then "
                                         "read the graders and write anywhere).").tag(config=True)
    threads = Integer(0, help="TensorFlow's threads within one op in the kernel (TF_NUM_INTRAOP_THREADS, "
                              "unless the environment sets it); 0: TensorFlow's choice, one per core. "
                              "See autograde.kernel.resources.kernel_threads.").tag(config=True)
    zygote = Any(None, allow_none=True, help="An autograde.kernel.forked.zygote.Zygote to fork the kernel from, when it "
                                             "hides all this kernel must not see (else the kernel starts cold), "
                                             "or nbgrader's autograde.kernel.forked.zygote.PerSubmission.").tag(config=True)

    scratch: Path | None = None
    sandbox: Sandbox | None = None
    user: kernel_user.KernelUser | None = None
    adopted: str | None = None  # the folder given to a kernel started ahead (autograde.kernel.pool)
    forked = False  # forked from ``zygote``
    forked_from = None  # the zygote it was forked from
    origin: str | None = None  # the folder the kernel was given (a private copy of it is its working folder)
    student = ""  # whose notebook it runs, for the log (a front end sets it; else ``origin`` names it)
    survivors: list = []  # processes of the kernel found alive after its notebook (then killed), reported
    cgroup: Cgroup | None = None  # the kernel's (autograde.kernel.cgroup), where the host gives one

    def _sandbox_for(self, work: Path) -> Sandbox | None:
        self.isolation = require_sandbox(self.allow_unsandboxed, self.user)
        if not probe()[0]:
            self.log.warning(self.isolation)
            return None
        return Sandbox(work=work, hide=hidden_paths(self.hide),
                       readonly=(LAUNCHER, *python_paths(), *read_only_data()),
                       writable=(self.scratch,), home=self.scratch / "home",
                       switch_user=bool(self.user.prefix),
                       cgroup=tuple(self.cgroup.procs_files) if self.cgroup else ())

    def _forking(self):
        """The zygote to fork this kernel from, or None (start it cold): ``zygote``, or under
        nbgrader (``zygote.PerSubmission``) that of the submission whose folder the kernel is given."""
        from autograde.kernel.forked.zygote import of

        z = of(self.zygote, self.origin)
        if z is None or self.user.uid is None or not z.covers(hidden_paths(self.hide)) or not z.ready():
            return None
        return z

    async def _async_pre_start_kernel(self, **kw):
        origin = Path(kw.get("cwd") or os.getcwd()).resolve()
        self.origin = str(origin)
        self.user = kernel_user.for_new_kernel()
        # a cold kernel's sandbox starts in it; a forked kernel is moved in as soon as it is forked
        self.cgroup = Cgroup.make(f"gdk-{uuid.uuid4().hex[:12]}", self.memory_mb,
                                  None if self.user.tasks is None else self.user.tasks + CGROUP_EXTRA_TASKS)
        zygote = self.forked_from = self._forking()
        self.forked = zygote is not None
        # short path: unix socket names are limited to about 100 characters
        self.scratch = Path(tempfile.mkdtemp(prefix="gdk-", dir=zygote.root if zygote else None))
        # the scratch folder stays the grader's (the kernel spec is read from it); the kernel's
        # user may only pass through it, into its own folders
        self.scratch.chmod(0o711)
        (self.scratch / "home").mkdir()  # the kernel's HOME: caches stay out of the work folder
        seed_font_cache(self.scratch / "home")
        (self.scratch / "ipc").mkdir(mode=0o700)  # the kernel's sockets
        work = self.scratch / "work"
        copy_private(origin, work)
        self.user.give(work, self.scratch / "home", self.scratch / "ipc")
        kw["cwd"] = str(work)
        self.sandbox = zygote.sandbox if zygote else self._sandbox_for(work)
        prefix = () if zygote else self.user.prefix
        argv = [*prefix, sys.executable, str(LAUNCHER), "--memory-mb", str(self.memory_mb),
                "--file-mb", str(limits.FILE_MB)]
        if self.user.tasks is not None:
            argv += ["--processes", str(self.user.tasks)]
        argv += ["-f", "{connection_file}"]
        spec = {"argv": wrap(self.sandbox, argv) if self.sandbox and not zygote else argv,
                "display_name": "gdgrade (limited)", "language": "python",
                "interrupt_mode": "message" if self.sandbox else "signal"}
        folder = self.scratch / "spec" / "gdgrade"
        folder.mkdir(parents=True)
        (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        self.kernel_spec_manager = KernelSpecManager(kernel_dirs=[str(self.scratch / "spec")])
        self.kernel_name = "gdgrade"
        env = grading_kernel_env(dict(kw.get("env") or os.environ))
        # HOME is a scratch folder inside: keep Keras' cache where the grader sees it
        env["KERAS_HOME"] = str(keras_home())
        env["HOME"] = str(self.scratch / "home")
        if self.threads > 0:
            env.setdefault("TF_NUM_INTRAOP_THREADS", str(self.threads))
        kw["env"] = env
        # what the kernel writes to its own stdout and stderr (os.write(1, ...), crashes) never
        # reaches the grader's terminal or memory: a file in the scratch folder, under the file-size limit
        kw["stdout"] = subprocess.DEVNULL
        self._stderr = open(self.scratch / "kernel-stderr.log", "wb")  # closed in cleanup_resources
        kw["stderr"] = self._stderr
        if self.sandbox:
            self.transport = "ipc"
            self.ip = str(self.scratch / "ipc" / "kernel")
        self.connection_file = str(self.scratch / "connection.json")
        bound_messages(self)
        if zygote:
            from autograde.kernel.forked.zygote import ForkedKernelProvisioner

            self.isolation = f"{describe()}; {self.user.line()}; forked from a warm process"
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
            self.provisioner = ForkedKernelProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                       parent=self)
        return await super()._async_pre_start_kernel(**kw)

    def adopt(self, origin: Path) -> None:
        """Give a kernel started ahead in an empty folder (``autograde.kernel.pool``) its notebook's
        folder: the private copy a kernel started now would have made. Called before any cell runs."""
        work = self.scratch / "work"
        copy_private(Path(origin).resolve(), work)
        self.user.give(work)
        self.adopted = self.origin = str(Path(origin).resolve())

    def write_connection_file(self, **kwargs) -> None:
        """Jupyter's connection file, readable by the kernel's user (group) but not writable by it."""
        super().write_connection_file(**kwargs)
        if self.user is not None and self.user.uid is not None:
            os.chown(self.connection_file, os.geteuid(), self.user.uid)
            os.chmod(self.connection_file, 0o640)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        if not restart and self._created_context:  # the kernel is gone: nothing is left to deliver
            self.context.destroy(linger=0)  # (jupyter_client's linger of 100 ms held up each notebook's end)
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self._end_everything()
        if getattr(self, "_stderr", None) and not restart:
            self._stderr.close()
        if self.scratch and not restart:
            shutil.rmtree(self.scratch, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources

    def _end_everything(self) -> None:
        """End every process the kernel started, and check that none is left: a cold kernel's went
        with its sandbox's pid namespace; a forked kernel's live on in the zygote's, where every
        process of its user is killed (zombie leaders with a live thread too). A survivor is killed
        wherever it is when the uid is the kernel's own, and reported (``survivors``)."""
        if self.cgroup is not None:  # everything the kernel started is in it: ended at once
            self.cgroup.end()
            self.cgroup = None
        uid = self.user.uid if self.user is not None else None
        if uid is None:
            return
        if self.forked:
            kernel_user.end_all(uid, self.forked_from.pid_namespace)
        # what is left after a while, zombies not yet reaped aside (they run nothing)
        live = kernel_user.live(uid) if self.user.own and kernel_user.gone(uid) else []
        if live:
            left = kernel_user.end_all(uid)
            self.survivors = left or live
            self.log.error("%s: a process of the kernel outlived its notebook (uid %s)%s", self.student or self.origin,
                           uid, f"; still running: pids {left}" if left else "; killed")

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        """Wait for the killed kernel to end, looking every 10 ms (jupyter_client looks every
        100 ms: a grading session's end waited 0.1-0.2 s for nothing)."""
        await super()._async_wait(pollinterval=min(pollinterval, WAIT_POLL))
