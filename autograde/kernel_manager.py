"""The kernel of every grading run, for both front ends (pytest graders and nbgrader).

``GradingKernelManager`` is a jupyter_client ``AsyncKernelManager`` whose kernel is
``limited_kernel.py`` (an IPython kernel under an address-space limit), wrapped in a
bubblewrap sandbox (``autograde.sandbox``) when the machine allows it. The sandbox is built
when the kernel starts, from its working folder (``cwd``): that folder is writable; the
repository (graders, solutions, tests), the course's submissions and gradebook are hidden;
there is no network. The kernel's environment is an allow-list: no engine setting (such as
the grading seed) reaches it. A sandboxed kernel talks over unix sockets in a private
scratch folder (``scratch``), where the grader's probes also exchange values.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, List, Unicode

from autograde import limits
from autograde.registry import data_paths
from autograde.sandbox import Sandbox, probe, wrap

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent
LAUNCHER = PACKAGE / "limited_kernel.py"

#: What a sandboxed kernel must not see in the course folder (``GD_GRADING_COURSE``) besides
#: the repository, which is hidden whole: solutions, other students' work, the gradebook.
HIDDEN_IN_COURSE = ("source", "release", "submitted", "autograded", "feedback", "gradebook.db",
                    "grading-results", "grades.csv", ".git")

#: Environment a grading kernel may inherit: the system's basics and the student-side ``GD_``
#: settings (data, seeds, budgets), never the engine's ``GD_GRADING_`` ones.
KERNEL_ENV_ALLOWED = re.compile(r"(PATH|LANG|LANGUAGE|LC_\w+|TZ|TERM|TF_\w+|MPLBACKEND|PYTHONHASHSEED|"
                                r"KERAS_HOME|NBGRADER_EXECUTION|OMP_NUM_THREADS|GD_\w+)")
#: Set in every grading kernel: quiet TensorFlow, no display, grading mode.
KERNEL_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "MPLBACKEND": "Agg",
    "PYTHONHASHSEED": "0",
    "NBGRADER_EXECUTION": "autograde",
}


def kernel_env(base: dict[str, str]) -> dict[str, str]:
    """``base`` reduced to the allow-list, plus ``KERNEL_ENV``."""
    env = {k: v for k, v in base.items()
           if KERNEL_ENV_ALLOWED.fullmatch(k) and not k.startswith(limits.ENV_PREFIX)}
    return {**env, **KERNEL_ENV}


def hidden_paths(extra: list[str] | tuple[str, ...] = ()) -> tuple[Path, ...]:
    """Paths a grading kernel must not see: the repository, the course's ``HIDDEN_IN_COURSE``,
    ``extra``, and the ``os.pathsep``-separated ``GD_GRADING_HIDE``."""
    paths = [ROOT, PACKAGE]  # the graders, wherever they are installed
    if limits.env("COURSE"):
        paths += [Path(limits.env("COURSE")) / name for name in HIDDEN_IN_COURSE]
    env = [p for p in (limits.env("HIDE") or "").split(os.pathsep) if p]
    return tuple(paths) + tuple(Path(p) for p in (*extra, *env))


def keras_home() -> Path:
    """Keras' folder of the grading user (its dataset cache): the kernel, whose HOME is a scratch
    folder, is pointed at the same one."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")


class GradingKernelManager(AsyncKernelManager):
    """Starts ``limited_kernel.py`` under ``memory_mb`` MiB, sandboxed when bwrap works."""

    memory_mb = Integer(limits.MEMORY_MB, help="Address-space limit of the kernel, MiB.").tag(config=True)
    hide = List(Unicode(), help="More paths the kernel must not see.").tag(config=True)

    scratch: Path | None = None
    sandbox: Sandbox | None = None

    def _sandbox_for(self, work: Path) -> Sandbox | None:
        if not probe()[0]:
            return None
        return Sandbox(work=work, hide=hidden_paths(self.hide),
                       readonly=(LAUNCHER, Path(sys.prefix), *data_paths()),
                       writable=(self.scratch,), home=self.scratch / "home")

    async def _async_pre_start_kernel(self, **kw):
        work = Path(kw.get("cwd") or os.getcwd()).resolve()
        # short path: unix socket names are limited to about 100 characters
        self.scratch = Path(tempfile.mkdtemp(prefix="gdk-"))
        (self.scratch / "home").mkdir()  # the kernel's HOME: caches stay out of the work folder
        self.sandbox = self._sandbox_for(work)
        argv = [sys.executable, str(LAUNCHER), "--memory-mb", str(self.memory_mb), "-f", "{connection_file}"]
        spec = {"argv": wrap(self.sandbox, argv) if self.sandbox else argv,
                "display_name": "gdgrade (limited)", "language": "python",
                "interrupt_mode": "message" if self.sandbox else "signal"}
        folder = self.scratch / "spec" / "gdgrade"
        folder.mkdir(parents=True)
        (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        self.kernel_spec_manager = KernelSpecManager(kernel_dirs=[str(self.scratch / "spec")])
        self.kernel_name = "gdgrade"
        env = kernel_env(dict(kw.get("env") or os.environ))
        # HOME is a scratch folder inside: keep Keras' cache where the grader sees it
        env["KERAS_HOME"] = str(keras_home())
        env["HOME"] = str(self.scratch / "home")
        kw["env"] = env
        if self.sandbox:
            self.transport = "ipc"
            self.ip = str(self.scratch / "kernel")
            self.connection_file = str(self.scratch / "connection.json")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self.scratch and not restart:
            shutil.rmtree(self.scratch, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources
