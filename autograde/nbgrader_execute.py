"""nbgrader's Execute step as a grading session, used through nbgrader_config.py.

``GradingExecute`` runs each submission in a ``GradingKernelManager`` kernel (memory limit,
bubblewrap sandbox) and, through ``autograde.session.GradingSession``, replaces every test
cell's run by the grader's verdict: nbgrader's gradebook records the points the judge gave,
never what the kernel printed. It also bounds the whole notebook's time, and a kernel that
dies costs only the checks not judged yet.
"""

from __future__ import annotations

import time
from pathlib import Path

from nbgrader.preprocessors import Execute
from traitlets import default

from autograde.registry import NOTEBOOKS
from autograde.sandbox import describe
from autograde.session import GradingSession


class GradingExecute(GradingSession, Execute):
    """nbgrader's Execute in a limited, sandboxed kernel; test cells judged outside it.

    nbgrader grades a submission's notebooks one after another, leaving a core idle: the kernel
    of the next notebook starts meanwhile (``spare_kernels``, ``autograde.kernel_pool``).
    """

    @default("spare_kernels")
    def _spares_on(self) -> bool:
        return True

    def notebook_follows(self) -> bool:
        """True unless this is the assignment's last notebook (nbgrader takes them by name) of the
        last student (by name) with a submission: a spare left over is stopped at the end."""
        meta = (self.resources or {}).get("nbgrader", {})
        notebook, student = meta.get("notebook"), meta.get("student")
        if notebook is None:
            return False
        if notebook != sorted(NOTEBOOKS)[-1]:
            return True
        work = Path((self.resources.get("metadata") or {}).get("path") or ".").resolve()
        if len(work.parents) <= 2:  # not <root>/autograded/<student>/<assignment>
            return False
        try:
            return any(d.name > str(student) and (d / work.name).is_dir()
                       for d in (work.parents[2] / "submitted").iterdir())
        except OSError:
            return False

    def preprocess(self, nb, resources=None, km=None):
        self.log.info(describe())
        start = time.perf_counter()
        try:
            return super().preprocess(nb, resources, km)
        finally:
            how = [w for w, yes in (("started ahead", self.kernel_started_ahead),
                                    ("forked from a warm process", self.kernel_forked)) if yes]
            self.log.info("graded in %.1f s%s; the kernel's peak memory was %.0f MiB", time.perf_counter() - start,
                          f" by a kernel {' and '.join(how)}" if how else "", self.peak_memory_mb)
