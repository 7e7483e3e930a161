"""The kernel of every grading run, for both front ends (pytest graders and nbgrader).

``GradingKernelManager`` is a jupyter_client ``AsyncKernelManager`` whose kernel is
``autograde.limited_kernel`` (an IPython kernel under an address-space limit), wrapped in a
bubblewrap sandbox (``autograde.sandbox``) when the machine allows it. The sandbox is built
when the kernel starts, from its working folder (``cwd``): that folder is writable, the
course's solutions, tests, submissions and gradebook are hidden, and there is no network.
A sandboxed kernel talks over unix sockets in a private scratch folder (``scratch``) and
is interrupted by message, not by signal.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, List, Unicode

from autograde.sandbox import Sandbox, probe, wrap
from gdkit import data as mnist_data

ROOT = Path(__file__).resolve().parent.parent

#: Address-space limit of every grading kernel, MiB (TensorFlow needs about 2 GiB to start).
MEMORY_MB = 4096

#: What a sandboxed kernel must not see, in the repository and in the course folder
#: (``GDGRADE_COURSE``): solutions, tests, other students' work, the gradebook.
HIDDEN_FROM_KERNEL = ("source", "release", "tests", "submitted", "autograded", "feedback",
                      "gradebook.db", "grading-results", ".git")


def hidden_paths(extra: list[str] | tuple[str, ...] = ()) -> tuple[Path, ...]:
    """Paths a grading kernel must not see: the repository's and the course's
    ``HIDDEN_FROM_KERNEL``, ``extra``, and the ``os.pathsep``-separated ``GDGRADE_HIDE``."""
    roots = [ROOT]
    if os.environ.get("GDGRADE_COURSE"):
        roots.append(Path(os.environ["GDGRADE_COURSE"]))
    env = [p for p in os.environ.get("GDGRADE_HIDE", "").split(os.pathsep) if p]
    return (tuple(root / name for root in roots for name in HIDDEN_FROM_KERNEL)
            + tuple(Path(p) for p in (*extra, *env)))


def data_paths() -> list[Path]:
    """Where the grader finds MNIST (Keras' cache, ``GD_MNIST_PATH``): the kernel reads the same."""
    paths = [mnist_data.keras_cache_path().parent]
    if os.environ.get(mnist_data.ENV_PATH):
        paths.append(Path(os.environ[mnist_data.ENV_PATH]))
    return paths


class GradingKernelManager(AsyncKernelManager):
    """Starts ``autograde.limited_kernel`` under ``memory_mb`` MiB, sandboxed when bwrap works."""

    memory_mb = Integer(MEMORY_MB, help="Address-space limit of the kernel, MiB.").tag(config=True)
    hide = List(Unicode(), help="More paths the kernel must not see.").tag(config=True)

    scratch: Path | None = None
    sandbox: Sandbox | None = None

    def _sandbox_for(self, work: Path) -> Sandbox | None:
        if not probe()[0]:
            return None
        return Sandbox(work=work, hide=hidden_paths(self.hide),
                       readonly=(ROOT / "autograde", Path(sys.prefix), *data_paths()),
                       writable=(self.scratch,), home=self.scratch / "home")

    async def _async_pre_start_kernel(self, **kw):
        work = Path(kw.get("cwd") or os.getcwd()).resolve()
        # short path: unix socket names are limited to about 100 characters
        self.scratch = Path(tempfile.mkdtemp(prefix="gdk-"))
        (self.scratch / "home").mkdir()  # the kernel's HOME: caches stay out of the work folder
        self.sandbox = self._sandbox_for(work)
        argv = [sys.executable, "-m", "autograde.limited_kernel", "--memory-mb", str(self.memory_mb),
                "-f", "{connection_file}"]
        spec = {"argv": wrap(self.sandbox, argv) if self.sandbox else argv,
                "display_name": "gdgrade (limited)", "language": "python",
                "interrupt_mode": "message" if self.sandbox else "signal"}
        folder = self.scratch / "spec" / "gdgrade"
        folder.mkdir(parents=True)
        (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        self.kernel_spec_manager = KernelSpecManager(kernel_dirs=[str(self.scratch / "spec")])
        self.kernel_name = "gdgrade"
        if self.sandbox:
            self.transport = "ipc"
            self.ip = str(self.scratch / "kernel")
            self.connection_file = str(self.scratch / "connection.json")
            # HOME is a scratch folder inside: keep Keras' cache where the grader sees it
            env = dict(kw.get("env") or os.environ)
            env["KERAS_HOME"] = str(mnist_data.keras_cache_path().parent.parent)
            kw["env"] = env
        return await super()._async_pre_start_kernel(**kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self.scratch and not restart:
            shutil.rmtree(self.scratch, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources
