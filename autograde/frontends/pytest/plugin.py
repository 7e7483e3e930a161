"""pytest front end of the hidden graders: ``pytest autograde --submission PATH``.

Each notebook of the submission is executed once, in its own kernel (forked from one process per
submission that imported TensorFlow once, where the grader is root: ``autograde.kernel.forked.zygote``), ``--jobs`` of them at
once (default: one per core, as many as memory holds), the cores shared among them
(``resources.kernel_threads``); while a notebook is still to start, the kernel for it starts
ahead (``autograde.kernel.pool``). Every check is one test whose JUnit
entry carries its points. A wrong answer is a failed test but not a
failed run: the exit status is non-zero only when grading itself broke.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograde import limits, settings

RESULTS = "grading-results"


def pytest_addoption(parser):
    group = parser.getgroup("gdgrade", "grading a submission of gd_applications")
    group.addoption("--submission", help="a submitted notebook (.ipynb) or a folder of notebooks")
    group.addoption("--results-dir", default=RESULTS,
                    help="folder for summary.json and junit.xml (default: %(default)s)")
    group.addoption("--student", default=None, help="name in the summary (default: the file's name)")
    group.addoption("--cell-timeout", type=int, default=limits.CELL_TIMEOUT,
                    help="seconds per cell or probe (default %(default)s)")
    group.addoption("--notebook-timeout", type=int, default=limits.NOTEBOOK_TIMEOUT,
                    help="seconds per notebook (default %(default)s)")
    group.addoption("--submission-timeout", type=int, default=limits.SUBMISSION_TIMEOUT,
                    help="seconds all the notebooks of the submission may take together (default %(default)s)")
    group.addoption("--memory-mb", type=int, default=limits.MEMORY_MB,
                    help="address-space limit of each grading kernel, MiB (default %(default)s)")
    group.addoption("--jobs", type=int, default=None,
                    help="notebooks graded at once (default: one per core, as many as memory holds)")
    group.addoption("--allow-unsandboxed", action="store_true",
                    help="grade even where bubblewrap cannot sandbox the kernel (not recommended)")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.gd_grading_broke = False
    if not config.getoption("--submission"):
        return
    from autograde.assignment import registry
    from autograde.kernel.manager import SandboxUnavailable, require_sandbox

    # this process's settings: the environment's, what the command line adds, the course's view
    settings.configure(view=registry.course_view(),
                       **({"allow_unsandboxed": True} if config.getoption("--allow-unsandboxed") else {}))
    try:
        config.gd_isolation = require_sandbox()
    except SandboxUnavailable as exc:
        raise pytest.UsageError(str(exc)) from None
    from autograde.kernel.forked import zygote

    config.gd_zygote = None
    if zygote.supported()[0]:  # its imports run while pytest collects
        sub = Path(config.getoption("--submission")).resolve()
        config.gd_zygote = zygote.Zygote(hide=[sub if sub.is_dir() else sub.parent])
        config.gd_isolation += f"; {zygote.LINE}"
    if not config.option.xmlpath:
        config.option.xmlpath = str(Path(config.getoption("--results-dir")) / "junit.xml")


def pytest_unconfigure(config):
    if getattr(config, "gd_zygote", None) is not None:
        config.gd_zygote.close()


def pytest_report_header(config):
    return getattr(config, "gd_isolation", None)


def pytest_collection_modifyitems(config, items):
    sub = config.getoption("--submission")
    if not sub:
        skip = pytest.mark.skip(reason="no submission: pass --submission PATH.ipynb or a folder")
        for item in items:
            item.add_marker(skip)
        return
    from autograde.assignment.submission import notebooks_of

    try:
        collected = notebooks_of(Path(sub))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.gd_notebooks, config.gd_problems = collected.files, collected.problems
    keep = [i for i in items if i.callspec.params["check"].notebook in config.gd_notebooks]
    config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep


class Grades:
    """Grades the notebooks the selected tests need, ``--jobs`` at once, on first use, and keeps
    the results for the whole session."""

    def __init__(self, config, stems: list[str]):
        self.config = config
        self.stems = stems
        self.graded = {}
        self.broke: dict[str, BaseException] = {}

    def notebook(self, stem: str):
        if not self.graded and not self.broke:
            self._grade_all()
        if stem in self.broke:
            raise self.broke[stem]
        return self.graded[stem]

    def _grade_all(self) -> None:
        import threading
        from concurrent.futures import ThreadPoolExecutor

        from autograde.grading.budget import Budget
        from autograde.grading.runner import grade_notebook
        from autograde.kernel.resources import default_jobs, kernel_threads

        opt = self.config.getoption
        jobs = max(1, min(opt("--jobs") or default_jobs(), len(self.stems)))
        waiting, lock = list(self.stems), threading.Lock()  # notebooks whose grading has not begun
        budget = Budget(opt("--submission-timeout"))

        def grade(stem):
            with lock:
                waiting.remove(stem)
            return grade_notebook(self.config.gd_notebooks[stem], stem, cell_timeout=opt("--cell-timeout"),
                                  notebook_timeout=opt("--notebook-timeout"), memory_mb=opt("--memory-mb"),
                                  zygote=self.config.gd_zygote, threads=kernel_threads(jobs),
                                  follows=lambda: bool(waiting), budget=budget)

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {stem: pool.submit(grade, stem) for stem in self.stems}
        for stem, future in futures.items():  # in the notebooks' order, whatever finished first
            try:
                self.graded[stem] = future.result()
            except Exception as exc:  # noqa: BLE001 - reported as that notebook's tests' setup error
                self.broke[stem] = exc


@pytest.fixture(scope="session")
def grades(request) -> Grades:
    stems = {item.callspec.params["check"].notebook for item in request.session.items}
    request.config.gd_grades = Grades(request.config, [s for s in request.config.gd_notebooks if s in stems])
    return request.config.gd_grades


@pytest.fixture
def result(request, grades):
    """The result of the check this test stands for (setup errors mean grading broke)."""
    check = request.node.callspec.params["check"]
    res = next(r for r in grades.notebook(check.notebook).results if r.check is check)
    # JUnit <property> entries (written for every junit_family)
    request.node.user_properties += [("grade_id", check.grade_id), ("points", res.points),
                                     ("max_points", check.points)]
    return res


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and rep.when != "call":
        item.config.gd_grading_broke = True


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    grades = getattr(config, "gd_grades", None)
    if grades is None or not grades.graded:
        return
    from autograde.reports.summary import summary, write_summary

    sub = Path(config.getoption("--submission"))
    student = config.getoption("--student") or sub.stem
    data = summary(student, [grades.graded[s] for s in grades.graded])
    data["problems"] = config.gd_problems
    write_summary(Path(config.getoption("--results-dir")) / "summary.json", data)
    if exitstatus == pytest.ExitCode.TESTS_FAILED and not config.gd_grading_broke:
        session.exitstatus = pytest.ExitCode.OK


def pytest_terminal_summary(terminalreporter, config):
    grades = getattr(config, "gd_grades", None)
    if grades is None:
        return
    tr = terminalreporter
    tr.section("points")
    total = maximum = 0
    for g in grades.graded.values():
        for r in g.results:
            total, maximum = total + r.points, maximum + r.check.points
            tr.write_line(f"{r.points:>3} / {r.check.points:<3} {r.check.grade_id}")
        if g.problem:
            tr.write_line(f"    {g.notebook}: {g.problem}")
    for problem in getattr(config, "gd_problems", []):
        tr.write_line(f"! {problem}")
    tr.write_line(f"total {total} / {maximum}")
