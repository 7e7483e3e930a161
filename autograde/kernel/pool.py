"""Grading kernels started ahead: while one notebook is graded, the next one's kernel starts and
imports what the exercises need (the course's warm-up, ``settings.CourseView``: TensorFlow), on a core that is idle.

A spare kernel is an ordinary ``GradingKernelManager`` kernel (same sandbox, limits and user)
started in an empty private folder; when a grading session takes it, the session's folder is
copied in (``GradingKernelManager.adopt``), exactly as a kernel started then would have copied
it. A spare matches a session only when its settings (memory, hidden paths, environment) are
the session's; an unused spare is stopped when the process ends. nbgrader's front end asks for a
spare while it grades a notebook that is followed by another, and ``nbgrader_config.py`` asks for
the first one while ``nbgrader autograde`` starts up; the pytest graders ask for one while a
notebook of the submission has yet to start.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import queue
import shutil
import tempfile
import threading
from concurrent.futures import Future

from jupyter_core.utils import run_sync

from autograde import settings
from autograde.kernel import jupyter_private
from autograde.kernel.contract import grading_kernel_env, hidden_paths
from autograde.kernel.manager import GradingKernelManager

_lock = threading.Lock()
_spares: dict[str, Future] = {}
_started: list[GradingKernelManager] = []  # every spare's manager, as soon as it exists


def _zygote(config, zygote=None):
    """The zygote a spare for ``config`` is forked from: ``zygote``, or the configured one (under
    nbgrader, the current submission's: ``zygote.of``)."""
    from autograde.kernel.forked.zygote import of

    return zygote if zygote is not None else of(GradingKernelManager(config=config).zygote)


def settings_key(config, zygote=None) -> str:
    """What a kernel's start depends on: its manager's settings, the environment it gets and the
    zygote it is forked from (``_zygote``: a spare serves only the submission whose zygote made it)."""
    km = GradingKernelManager(config=config)
    env = grading_kernel_env(dict(os.environ))
    engine = settings.current().replace(view=None).to_env()  # hidden paths, uid...
    zygote = _zygote(config, zygote)
    zygote = None if zygote is None else id(zygote)
    text = json.dumps([km.memory_mb, sorted(str(p) for p in hidden_paths(km.hide)), km.allow_unsandboxed,
                       km.threads, zygote, sorted(env.items()), sorted(engine.items())])
    return hashlib.sha256(text.encode()).hexdigest()


def start_spare(config, zygote=None) -> None:
    """Start a kernel with ``config`` in the background, unless one is waiting already; forked
    from ``zygote`` (nbgrader: the next submission's) or the configured one (``_zygote``)."""
    zygote = _zygote(config, zygote)
    key = settings_key(config, zygote)
    with _lock:
        if key not in _spares:
            future = _spares[key] = Future()
            _launcher().put((future, config, zygote))


@functools.lru_cache(maxsize=1)
def _launcher() -> queue.SimpleQueue:
    """The one thread that starts spares. It lives as long as the process: bubblewrap's
    ``--die-with-parent`` stops a kernel when the *thread* that started it ends. A daemon, so a
    spare still starting never holds up the end of the process."""
    jobs: queue.SimpleQueue = queue.SimpleQueue()

    def serve() -> None:
        while True:
            future, config, zygote = jobs.get()
            try:
                future.set_result(_start(config, zygote))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever takes the spare
                future.set_exception(exc)

    threading.Thread(target=serve, name="spare-kernels", daemon=True).start()
    return jobs


def take(config) -> GradingKernelManager | None:
    """The spare kernel for ``config`` (waiting for it to finish starting), or None."""
    with _lock:
        future = _spares.pop(settings_key(config), None)
    if future is None:
        return None
    try:
        km = future.result()
    except Exception:  # noqa: BLE001 - a spare that failed to start: start one the usual way
        return None
    with _lock:
        _started.remove(km)
    if not run_sync(km.is_alive)():
        stop(km)
        return None
    return km


def _start(config, zygote=None) -> GradingKernelManager:
    km = GradingKernelManager(config=config)
    if zygote is not None or km.zygote is not None:
        km.zygote = zygote  # the one resolved when the spare was asked for, not whichever is current now
    with _lock:
        _started.append(km)
    empty = tempfile.mkdtemp(prefix="gdspare-")
    try:
        run_sync(km.start_kernel)(cwd=empty)
    finally:
        shutil.rmtree(empty, ignore_errors=True)
    code = settings.current().course_view.warm_up
    if code:
        kc = km.client()
        kc.start_channels()
        try:
            run_sync(kc.wait_for_ready)(timeout=60)
            msg_id = kc.execute(code, silent=True, store_history=False)
            while True:  # its reply: the imports are done (an error is the student's to meet later)
                reply = run_sync(kc.get_shell_msg)(timeout=120)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
        finally:
            kc.stop_channels()
    jupyter_private.close_control_socket(km)  # made in this thread's event loop; the session makes its own
    return km


def stop(km: GradingKernelManager) -> None:
    """Kill a spare's kernel and remove its folders."""
    try:
        if km.provisioner is not None and km.provisioner.process is not None:
            km.provisioner.process.kill()
            km.provisioner.process.wait(10)
    except Exception:  # noqa: BLE001 - already gone
        pass
    if km.cgroup is not None:
        km.cgroup.end()
    if km.scratch:
        shutil.rmtree(km.scratch, ignore_errors=True)


@atexit.register
def stop_all() -> None:
    """Stop every spare not taken (at exit, or when a test wants none left)."""
    with _lock:
        _spares.clear()
        started = list(_started)
        _started.clear()
    for km in started:
        stop(km)
