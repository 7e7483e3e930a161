"""nbgrader's Execute step as a grading session, used through nbgrader_config.py.

``GradingExecute`` runs each submission in a ``GradingKernelManager`` kernel (memory limit,
bubblewrap sandbox) and, through ``autograde.grading.session.GradingSession``, replaces every test
cell's run by the grader's verdict: nbgrader's gradebook records the points the judge gave,
never what the kernel printed. It also bounds the whole notebook's time, and a kernel that
dies costs only the checks not judged yet. While it grades a notebook, the notebooks nbgrader
grades next in the same submission are executed in the background (``autograde.frontends.nbgrader.background``).
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

import nbformat
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute
from traitlets import Integer, default

from autograde import limits
from autograde.assignment.registry import NOTEBOOKS
from autograde.frontends.nbgrader import background
from autograde.grading import budget
from autograde.grading.session import GradingSession
from autograde.kernel.resources import default_jobs
from autograde.kernel.sandbox import describe

#: the sanitizing done ahead for a background run says nothing: nbgrader says it again later
_QUIET = logging.getLogger("autograde.frontends.nbgrader.background.sanitize")
_QUIET.disabled = True


class GradingExecute(GradingSession, Execute):
    """nbgrader's Execute in a limited, sandboxed kernel; test cells judged outside it.

    nbgrader grades a submission's notebooks one after another, leaving a core idle: the
    notebooks that follow are executed meanwhile (``background_workers``, ``autograde.frontends.nbgrader.background``),
    and the kernel of the next notebook starts ahead (``spare_kernels``, ``autograde.kernel.pool``).
    """

    background_workers = Integer(help="Notebooks of the same submission executed in the background while "
                                      "nbgrader grades the one before them (autograde/frontends/nbgrader/background.py); 0: "
                                      "none. Default: one less than the notebooks graded at once "
                                      "(autograde.kernel.resources.default_jobs).").tag(config=True)

    submission_timeout = Integer(limits.SUBMISSION_TIMEOUT,
                                 help="Seconds all the notebooks of one student's submission may take together "
                                      "(autograde/grading/budget.py).").tag(config=True)

    @default("spare_kernels")
    def _spares_on(self) -> bool:
        return True

    @default("background_workers")
    def _one_less_than_jobs(self) -> int:
        return default_background_workers()

    def notebook_follows(self) -> bool:
        """Whether nbgrader's next notebook in this process starts a kernel here: the next notebook
        of this submission (unless graded in the background), or the next student's first notebook
        when kernels are not forked (a spare forked for it comes from its own zygote: ``preprocess``).
        A spare left over is stopped at the end."""
        meta = (self.resources or {}).get("nbgrader", {})
        notebook = meta.get("notebook")
        if notebook is None:
            return False
        if notebook != sorted(NOTEBOOKS)[-1] and self.background_workers <= 0:
            return True  # (with background workers, the next notebook is graded there)
        return self._per_submission() is None and self._next_submission(self.resources) is not None

    def _next_submission(self, resources: dict | None) -> Path | None:
        """The folder nbgrader grades the next student in (``autograded/<student>/<assignment>``),
        when the notebook of ``resources`` is the last of this submission it grades here; None if
        none follows."""
        meta = (resources or {}).get("nbgrader", {})
        notebook, student = meta.get("notebook"), meta.get("student")
        if notebook is None or (notebook != sorted(NOTEBOOKS)[-1] and self.background_workers <= 0):
            return None
        work = _folder(resources)
        if len(work.parents) <= 2:  # not <root>/autograded/<student>/<assignment>
            return None
        try:
            later = sorted(d.name for d in (work.parents[2] / "submitted").iterdir()
                           if d.name > str(student) and (d / work.name).is_dir())
        except OSError:
            return None
        return work.parents[1] / later[0] / work.name if later else None

    def _per_submission(self):
        """nbgrader's zygotes (``autograde.kernel.forked.zygote.PerSubmission``), or None where kernels start cold."""
        from autograde.kernel.forked.zygote import PerSubmission

        z = self.config.GradingKernelManager.get("zygote") if "GradingKernelManager" in self.config else None
        return z if isinstance(z, PerSubmission) else None

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.student = str(((self.resources or {}).get("nbgrader") or {}).get("student") or "")
        return km

    def preprocess(self, nb, resources=None, km=None):
        self.log.info(describe())
        resources = resources if resources is not None else {}
        folder = str(_folder(resources))
        self.budget = budget.of_submission(folder, self.submission_timeout)
        notebook = (resources.get("nbgrader") or {}).get("notebook")
        background.drop_all_but(folder)
        zygotes = self._per_submission()
        if zygotes is not None:  # this submission's zygote; every other one ends, with what is left of its kernels
            zygotes.begin(folder)
            following = self._next_submission(resources)
            if following is not None:  # the next student's zygote, and its first kernel, start meanwhile
                from autograde.kernel import pool as kernel_pool

                kernel_pool.start_spare(self.config, zygotes.ahead(following))
        if notebook and self.background_workers > 0:
            self._schedule_following(folder, notebook)
        run = background.take((folder, notebook), nb) if notebook else None
        if run is not None and run.refused:
            self.log.info("executing %s now: %s", notebook, run.refused)
        elif run is not None:
            self.log.info("graded in %.1f s%s, in the background while the notebook before it was graded; "
                          "the kernel's peak memory was %.0f MiB", run.seconds, _how(run.session),
                          run.session.peak_memory_mb)
            return run.notebook, resources
        start = time.perf_counter()
        try:
            return self.grade(nb, resources, km)
        finally:
            self.log.info("graded in %.1f s%s; the kernel's peak memory was %.0f MiB", time.perf_counter() - start,
                          _how(self), self.peak_memory_mb)

    def grade(self, nb, resources, km=None):
        """Execute ``nb`` and judge its checks; returns (notebook, resources)."""
        return super().preprocess(nb, resources, km)

    def _schedule_following(self, folder: str, notebook: str) -> None:
        """Schedule the notebooks nbgrader grades after ``notebook`` in this submission, sanitized
        as nbgrader will sanitize them, each with a session of its own."""
        converter = getattr(self.parent, "parent", None)  # the Autograde converter, through its exporter
        if not isinstance(converter, Autograde):
            return
        submitted = {Path(p).stem: p for p in converter.notebooks}
        names = list(submitted)
        if notebook not in names:
            return
        for name in names[names.index(notebook) + 1:]:
            key = (folder, name)
            if background.scheduled(key):
                continue
            try:
                nb, resources = _sanitized(converter, submitted[name], Path(folder) / f"{name}.ipynb")
            except Exception as exc:  # noqa: BLE001 - nbgrader reports it when it gets there
                self.log.debug("not executed in the background: %s: %s", name, exc)
                continue
            session = GradingExecute(parent=self.parent, background_workers=0, spare_kernels=False)
            session.budget = self.budget  # the submission's, whichever session runs its notebooks
            background.schedule(key, nb, resources, session, self.background_workers)


def first_submission(course: str | Path, args: list[str]) -> Path | None:
    """The folder ``nbgrader autograde ARGS`` grades its first student in
    (``<course>/autograded/<student>/<assignment>``: students by name, as nbgrader takes them),
    when ``args`` name the assignment and at most one student plainly; else None."""
    names = [a for a in args if not a.startswith("-")]
    student = next((a.split("=", 1)[1] for a in args if a.startswith("--student=")), None)
    if "--student" in args and args.index("--student") + 1 < len(args):
        student = args[args.index("--student") + 1]
        names = [n for n in names if n != student]
    if not names or (student is not None and any(ch in student for ch in "*?[,")):
        return None
    assignment, course = names[0], Path(course)
    try:
        students = sorted(d.name for d in (course / "submitted").iterdir() if (d / assignment).is_dir())
    except OSError:
        return None
    if student is not None:
        students = [s for s in students if s == student]
    return course / "autograded" / students[0] / assignment if students else None


def default_background_workers() -> int:
    """``GradingExecute.background_workers`` when not configured: one less than the notebooks graded
    at once (``autograde.kernel.resources.default_jobs``)."""
    return default_jobs() - 1


def _folder(resources: dict) -> Path:
    """The folder nbgrader executes a notebook in (``autograded/<student>/<assignment>/``)."""
    return Path((resources.get("metadata") or {}).get("path") or ".").resolve()


def _how(session: GradingSession) -> str:
    how = [w for w, yes in (("started ahead", session.kernel_started_ahead),
                            ("forked from a warm process", session.kernel_forked)) if yes]
    return f" by a kernel {' and '.join(how)}" if how else ""


def _sanitized(converter: Autograde, submitted: str, dest: Path) -> tuple[nbformat.NotebookNode, dict]:
    """The notebook nbgrader will write to ``dest`` when it sanitizes ``submitted`` (its configured
    ``sanitize_preprocessors``, silenced), and the resources nbgrader then executes it with."""
    exporter = converter.exporter_class(parent=converter, config=converter.config)
    exporter.log = _QUIET
    for pp in converter.sanitize_preprocessors:
        exporter.register_preprocessor(pp)
    base = converter.init_single_notebook_resources(str(dest))  # as nbgrader's autograde step builds them
    output, _ = exporter.from_filename(submitted, resources=copy.deepcopy(base))
    resources = copy.deepcopy(base)
    resources["metadata"] = {"name": dest.stem, "path": str(dest.parent)}
    return nbformat.reads(output, as_version=4), resources


def start_ahead(c, course: str | Path, args: list[str]) -> None:
    """Called by ``nbgrader_config.py`` when ``nbgrader autograde ARGS`` starts: where the grader is
    root, each submission's kernels are forked from a process of its own that imports TensorFlow
    once (``autograde.kernel.forked.zygote``; a kernel whose hidden paths it does not cover starts
    cold), and the first student's starts now; the notebook nbgrader grades and those executed
    meanwhile (``background``) share the cores. The first kernel is used only if its settings are
    the first notebook's (``autograde.kernel.pool``), else stopped."""
    from autograde.kernel.forked.zygote import per_submission
    from autograde.kernel.pool import start_spare
    from autograde.kernel.resources import kernel_threads

    c.GradingKernelManager.zygote = zygotes = per_submission(c.GradingKernelManager.get("hide", []))
    first = first_submission(course, args)
    c.GradingKernelManager.threads = kernel_threads(1 + c.GradingExecute.get("background_workers",
                                                                             default_background_workers()))
    if first is not None or zygotes is None:
        start_spare(c, zygotes.ahead(first) if zygotes is not None else None)
