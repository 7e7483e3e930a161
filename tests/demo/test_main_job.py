"""The main job reports what happened: counts of what nbgrader graded, one line when a step fails.

nbgrader itself is replaced here (its real run is `make main` and tests/grading/test_grading.py): these
tests run in about a second.
"""

from __future__ import annotations

import pytest

from autograde.assignment.registry import ASSIGNMENT
from autograde.demo import main_job
from autograde.demo.examples import CLASS
from autograde.frontends.nbgrader import course as nbg
from autograde.kernel import sandbox

REFUSED = ("nbgrader autograde gd_applications --force failed in /c (exit 1):\n"
           "[AutogradeApp | ERROR] There was an error processing assignment: /c/submitted/alice\n"
           "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
           "autograde.kernel.manager.SandboxUnavailable: refusing to grade without a sandbox: bwrap not found\n"
           "[AutogradeApp | ERROR] Please see the the above traceback for details on the specific errors\n")


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course folder whose nbgrader steps after autograde must not run unless a test allows them."""
    monkeypatch.setattr(nbg, "generate_release", lambda course: course / "release" / ASSIGNMENT)

    def must_not_run(*args, **kwargs):
        raise AssertionError("a step ran after autograde graded no student")

    for name in ("generate_feedback", "export_grades"):
        monkeypatch.setattr(nbg, name, must_not_run)
    return tmp_path / "course"


def autograde_only(students, calls):
    """A stand-in for ``nbg.autograde`` that autogrades ``students`` (all their notebooks), then fails."""
    def fake(course, on_line=None, options=()):
        calls.append(options)
        for student in students:
            folder = course / "autograded" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            for nb in (course / "submitted" / student / ASSIGNMENT).glob("*.ipynb"):
                (folder / nb.name).write_text("{}")
        raise nbg.NbgraderFailed(REFUSED)
    return fake


def test_a_grading_step_that_graded_nobody_stops_with_one_line_and_no_traceback(course, monkeypatch, capsys):
    monkeypatch.setattr(nbg, "autograde", autograde_only([], []))
    assert main_job.main(["--course", str(course)]) == 1
    out, err = capsys.readouterr()
    assert f"graded 0 of {len(CLASS)} students" in out
    assert "Traceback" not in out + err
    (line,) = err.strip().splitlines()
    assert line.startswith("main job stopped: nbgrader autograde graded no student: ")
    assert "refusing to grade without a sandbox" in line and str(course / "main-job.log") in line
    assert "Traceback" in (course / "main-job.log").read_text(encoding="utf-8"), "the whole log is kept"


def test_the_counts_are_of_the_students_nbgrader_graded_and_the_others_are_named(course, monkeypatch, capsys):
    graded = list(CLASS)[:2]
    monkeypatch.setattr(nbg, "autograde", autograde_only(graded, []))
    monkeypatch.setattr(nbg, "generate_feedback", lambda course: None)
    monkeypatch.setattr(nbg, "export_grades", lambda course, to: to)
    monkeypatch.setattr(main_job.class_report, "write", lambda course, report: None)
    monkeypatch.setattr(main_job.class_report, "from_nbgrader", lambda course: None)
    monkeypatch.setattr(nbg, "gradebook_scores", lambda course: {s: {} for s in CLASS})
    assert main_job.main(["--course", str(course)]) == 1
    out, err = capsys.readouterr()
    assert f"graded 2 of {len(CLASS)} students" in out
    table = out.split("[5/5] grades", 1)[1]
    assert all(s in table for s in graded) and not any(f"\n{s} " in table for s in CLASS if s not in graded)
    assert f"not graded: {', '.join(s for s in CLASS if s not in graded)}" in err


def test_a_failed_step_after_grading_names_the_step(course, monkeypatch, capsys):
    monkeypatch.setattr(nbg, "autograde", autograde_only(list(CLASS), []))

    def feedback_fails(course):
        raise nbg.NbgraderFailed("nbgrader generate_feedback failed (exit 1):\n"
                                 "nbgrader.coursedir.NoNotebooksError: No notebooks were matched\n")

    monkeypatch.setattr(nbg, "generate_feedback", feedback_fails)
    assert main_job.main(["--course", str(course)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (f"main job stopped: nbgrader generate_feedback failed: nbgrader.coursedir.NoNotebooksError: "
                           f"No notebooks were matched (its log: {course / 'main-job.log'})")


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandbox", "none"])
def test_the_example_class_is_graded_unsandboxed_only_where_no_sandbox_can_be_had(
        sandboxed, course, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "probe", lambda: (sandboxed, "ok" if sandboxed else "bwrap not found on PATH"))
    calls = []
    monkeypatch.setattr(nbg, "autograde", autograde_only([], calls))
    main_job.main(["--course", str(course)])
    out = capsys.readouterr().out
    if sandboxed:
        assert calls == [()] and "without one" not in out
    else:
        assert calls == [("--GradingKernelManager.allow_unsandboxed=True",)]
        (line,) = [ln for ln in out.splitlines() if "no sandbox" in ln]
        assert "bwrap not found on PATH" in line and "example class" in line


def test_nbgrader_grading_of_real_submissions_stays_fail_closed():
    from autograde.kernel.manager import GradingKernelManager

    config = (main_job.ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    assert "allow_unsandboxed" not in config
    assert GradingKernelManager.allow_unsandboxed.default_value is False
