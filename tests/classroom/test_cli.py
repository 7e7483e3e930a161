"""``gdgrade``: its options parse, --student grades only those named, report prints the results folder;
``autograde.frontends.nbgrader.cli`` is nbgrader's own command line."""

from __future__ import annotations

import contextlib
import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib

from autograde.assignment.registry import CHECKS
from autograde.classroom import classgrade, cli

ROOT = Path(__file__).resolve().parents[2]
GDGRADE = Path(sys.executable).parent / "gdgrade"  # the console script `make setup` installs


def class_folder(root: Path, *names: str) -> Path:
    for name in names:
        (root / name).mkdir(parents=True)
    return root


@pytest.fixture
def fake_grading(monkeypatch) -> list[str]:
    """Replace the per-student grader (a kernel per notebook) with one that gives 7 points."""
    graded: list[str] = []

    def fake(student, out, *_, **__):
        graded.append(student.name)
        summary = {"student": student.name, "points": 7, "max_points": 30, "notebooks": [], "problems": []}
        classgrade.publish(out, student, summary)
        return summary

    monkeypatch.setattr(classgrade, "grade_student", fake)
    return graded


def test_every_subcommand_parses_its_options():
    args = cli.parser().parse_args(["grade", "subs", "--out", "res", "--jobs", "3", "--shard", "2/4",
                                    "--student", "ann", "--student", "陳小明"])
    assert (args.func, args.submissions, args.out, args.jobs, args.shard, args.student) == (
        classgrade.grade, Path("subs"), Path("res"), 3, "2/4", ["ann", "陳小明"])
    args = cli.parser().parse_args(["merge", "r1", "r2", "--out", "res"])
    assert (args.func, args.parts, args.out) == (classgrade.merge, [Path("r1"), Path("r2")], Path("res"))
    assert cli.parser().parse_args(["report", "res"]).dir == Path("res")
    assert cli.parser().parse_args(["list", "subs"]).func is classgrade.list_students
    assert cli.parser().parse_args(["grade", "subs", "--out", "res"]).student is None
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["grade", "subs"])  # --out is required


def test_gdgrade_is_the_projects_console_script():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["gdgrade"] == "autograde.classroom.cli:main"
    proc = subprocess.run([str(GDGRADE), "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "report" in proc.stdout, proc.stderr


def test_student_option_grades_only_the_named_students(tmp_path, fake_grading):
    subs = class_folder(tmp_path / "subs", "ann", "ben", "cat", "陳小明")
    assert cli.main(["grade", str(subs), "--out", str(tmp_path / "out"), "--student", "陳小明",
                     "--student", "ben"]) == 0
    assert sorted(fake_grading) == ["ben", "陳小明"]
    with open(tmp_path / "out" / "grades.csv", encoding="utf-8", newline="") as f:
        assert sorted(r["student"] for r in csv.DictReader(f)) == ["ben", "陳小明"]


def test_student_option_combines_with_shards(tmp_path, fake_grading):
    subs = class_folder(tmp_path / "subs", "ann", "ben", "cat", "dan")
    for i in (1, 2):
        cli.main(["grade", str(subs), "--out", str(tmp_path / "out"), "--shard", f"{i}/2",
                  "--student", "ann", "--student", "cat", "--student", "dan"])
    assert sorted(fake_grading) == ["ann", "cat", "dan"]


def test_an_unknown_student_is_an_error_naming_them_and_how_to_list_the_class(tmp_path, fake_grading):
    subs = class_folder(tmp_path / "subs", "ann", "benjamin")
    with pytest.raises(SystemExit) as err:
        cli.main(["grade", str(subs), "--out", str(tmp_path / "out"), "--student", "ann", "--student", "benjamn"])
    message = str(err.value)
    assert "'benjamn'" in message and "did you mean 'benjamin'" in message
    assert f"gdgrade list {subs}" in message and "2 found" in message
    assert fake_grading == [] and not (tmp_path / "out").exists(), "nobody is graded after a typo"


def test_student_option_grades_a_real_invalid_submission_without_the_others(tmp_path):
    subs = tmp_path / "subs"
    for name in ("ann", "ben"):
        (subs / name).mkdir(parents=True)
        (subs / name / "01_linear_system.ipynb").write_text('{"cells": [', encoding="utf-8")
    proc = subprocess.run([str(GDGRADE), "grade", str(subs), "--out", str(tmp_path / "out"), "--student", "ben"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(tmp_path / "out" / "grades.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["student"] for r in rows] == ["ben"] and rows[0]["total"] == "0"
    assert "not a valid notebook" in rows[0]["problems"] and "Fix:" in rows[0]["problems"]


def summary_of(student: str, passed: set[str]) -> dict:
    notebooks = {}
    for c in CHECKS:
        ok = c.grade_id in passed
        notebooks.setdefault(c.notebook, []).append(
            {"grade_id": c.grade_id, "points": c.points if ok else 0, "max_points": c.points,
             "status": "passed" if ok else "failed", "description": "", "message": ""})
    nbs = [{"notebook": nb, "points": sum(c["points"] for c in cs), "checks": cs} for nb, cs in notebooks.items()]
    return {"student": student, "points": sum(n["points"] for n in nbs), "max_points": 30,
            "notebooks": nbs, "problems": []}


def starts(line: str) -> list[int]:
    """The terminal column where each word of ``line`` starts."""
    cols, col, prev = [], 0, " "
    for ch in line:
        if ch != " " and prev == " ":
            cols.append(col)
        col, prev = col + cli.width(ch), ch
    return cols


def test_report_prints_the_grade_table_and_how_many_passed_each_check(tmp_path, capsys):
    first, second = CHECKS[0], CHECKS[1]
    classgrade.publish(tmp_path, classgrade.Student("ann"), summary_of("ann", {first.grade_id, second.grade_id}))
    classgrade.publish(tmp_path, classgrade.Student("陳小明"), summary_of("陳小明", {first.grade_id}))
    classgrade.write_csv(tmp_path)
    assert cli.main(["report", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "2 students" in lines[0]
    header, ann, chen = lines[1], lines[2], lines[3]
    assert header.split()[-3:] == ["total", "max_points", "status"]
    assert ann.split()[0] == "ann" and ann.split()[-3:] == [str(first.points + second.points), "30", "graded"]
    assert chen.split()[0] == "陳小明" and chen.split()[-3:] == [str(first.points), "30", "graded"]
    assert starts(ann) == starts(header) == starts(chen), "a CJK name keeps the columns aligned"
    counts = {ln.split()[1]: ln.split()[2] for ln in lines if ln.split()[:1] == [first.notebook]}
    assert counts[first.grade_id] == "2/2" and counts[second.grade_id] == "1/2" and counts[CHECKS[2].grade_id] == "0/2"


def test_report_of_a_folder_without_grades_names_the_file_and_the_fix(tmp_path):
    with pytest.raises(SystemExit, match=r"grades\.csv: not found\. Fix: pass the --out folder"):
        cli.main(["report", str(tmp_path)])


def test_merge_of_a_folder_that_holds_no_results_is_an_error_naming_it(tmp_path):
    (tmp_path / "results-1" / "students").mkdir(parents=True)
    with pytest.raises(SystemExit, match=r"results-2.students: not found\. Fix:"):
        cli.main(["merge", str(tmp_path / "results-1"), str(tmp_path / "results-2"), "--out", str(tmp_path / "m")])


def test_the_module_form_still_runs_the_same_commands(tmp_path):
    subs = class_folder(tmp_path / "subs", "ann", "ben")
    proc = subprocess.run([sys.executable, "-m", "autograde.classroom.classgrade", "list", str(subs)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0 and "2 students" in proc.stdout and "ann\tno notebooks" in proc.stdout, proc.stderr


def test_shard_base_zero_takes_kubernetes_completion_indexes():
    students = [classgrade.Student(n) for n in "abcde"]
    zero = [classgrade.shard(students, f"{i}/2", base=0) for i in (0, 1)]
    one = [classgrade.shard(students, f"{i}/2") for i in (1, 2)]
    assert zero == one
    with pytest.raises(SystemExit, match="0 <= I <= N - 1"):
        classgrade.shard(students, "2/2", base=0)
    with pytest.raises(SystemExit, match="with --shard-base 0, 0/4 to 3/4"):
        classgrade.shard(students, "0/2")


def test_nbgrader_cli_is_nbgrader_without_the_unused_iri_grammar():
    """``python -m autograde.frontends.nbgrader.cli`` runs nbgrader's own application, and its process never
    imports rfc3987_syntax (1.2 s of every nbgrader command otherwise)."""
    code = ("import runpy, sys; sys.argv = ['nbgrader', '--version']\n"
            "try:\n    runpy.run_module('autograde.frontends.nbgrader.cli', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('iri grammar loaded' if sys.modules.get('rfc3987_syntax') else 'no iri grammar')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    import nbgrader

    assert out.returncode == 0, out.stderr
    assert nbgrader.__version__ in out.stdout and out.stdout.strip().endswith("no iri grammar"), out.stdout


RELEASED = ROOT / "release" / "gd_applications"


@pytest.fixture
def no_forced_terminal(monkeypatch):
    monkeypatch.delenv("TTY_INTERACTIVE", raising=False)


def test_version_is_the_installed_packages():
    from importlib import metadata

    with pytest.raises(SystemExit) as done, contextlib.redirect_stdout(io.StringIO()) as out:
        cli.main(["--version"])
    assert done.value.code == 0
    assert out.getvalue().strip() == f"gdgrade {metadata.version('gd-applications-course')}"


def test_every_grade_option_states_its_default_and_every_timeout_its_unit():
    grade = next(a for a in cli.parser()._subparsers._group_actions[0].choices.values() if a.prog.endswith("grade"))
    options = [a for a in grade._actions if a.option_strings and a.dest != "help"]
    assert {"--cell-timeout", "--notebook-timeout", "--submission-timeout", "--jobs"} <= {
        a.option_strings[0] for a in options}
    for action in options:
        text = grade._get_formatter()._expand_help(action) if action.help else ""
        assert "default" in text or "required" in text, f"{action.option_strings[0]}: no default in its help"
        if action.option_strings[0].endswith("-timeout"):
            assert text.startswith("seconds") and f"default: {action.default}" in text, text


def error_of(argv: list[str], capsys) -> tuple[int, str]:
    """Exit status and the message of a gdgrade call that must stop."""
    with pytest.raises(SystemExit) as err:
        cli.main(argv)
    code = err.value.code
    return (1, code) if isinstance(code, str) else (code, capsys.readouterr().err.strip())


@pytest.mark.parametrize("extra, named", [
    (["--jobs", "-3"], "--jobs"), (["--jobs", "0"], "--jobs"), (["--jobs", "two"], "--jobs"),
    (["--cell-timeout", "0"], "--cell-timeout"), (["--notebook-timeout", "-1"], "--notebook-timeout"),
    (["--submission-timeout", "1.5"], "--submission-timeout"),
    (["--shard", "3"], "--shard 3"), (["--shard", "5/4"], "--shard 5/4"), (["--shard", "4/4"], "--shard 4/4"),
])
def test_a_bad_argument_stops_before_any_work_in_one_line_naming_it_and_the_fix(tmp_path, fake_grading, capsys,
                                                                               extra, named):
    subs = class_folder(tmp_path / "subs", "ann", "ben", "cat")  # --shard 4/4 of three students: nobody
    code, message = error_of(["grade", str(subs), "--out", str(tmp_path / "out"), *extra], capsys)
    assert code != 0 and named in message and "Fix:" in message and "\n" not in message, message
    assert fake_grading == [] and not (tmp_path / "out").exists(), "nothing is graded or written"


@pytest.mark.parametrize("folder, says", [
    ("missing", "no such folder"), ("one.ipynb", "one notebook, not a folder"), ("empty", "no students found"),
    ("strays", "no students found (ignored: grades.csv, notes.txt)"),
])
def test_a_folder_without_students_is_an_error_saying_where_it_looked_and_the_layouts(tmp_path, fake_grading,
                                                                                      capsys, folder, says):
    (tmp_path / "empty").mkdir()
    (tmp_path / "strays").mkdir()
    (tmp_path / "strays" / "notes.txt").write_text("x", encoding="utf-8")
    (tmp_path / "strays" / "grades.csv").write_text("x", encoding="utf-8")
    (tmp_path / "one.ipynb").write_bytes((RELEASED / "01_linear_system.ipynb").read_bytes())
    for command in (["grade", str(tmp_path / folder), "--out", str(tmp_path / "out")], ["list", str(tmp_path / folder)]):
        code, message = error_of(command, capsys)
        assert code != 0 and message.startswith(f"{tmp_path / folder}: {says}") and "Fix:" in message, message
        assert "<student>/gd_applications/*.ipynb" in message or "--submission" in message, "the layout expected"
    assert fake_grading == [] and not (tmp_path / "out").exists()


def test_results_inside_the_submissions_are_refused_before_they_pass_for_a_student(tmp_path, fake_grading, capsys):
    subs = class_folder(tmp_path / "subs", "ann")
    code, message = error_of(["grade", str(subs), "--out", str(subs / "results")], capsys)
    assert code != 0 and "--out" in message and "inside the submissions folder" in message and "Fix:" in message
    (tmp_path / "file").write_text("", encoding="utf-8")
    code, message = error_of(["grade", str(subs), "--out", str(tmp_path / "file")], capsys)
    assert code != 0 and "a file, not a folder" in message and fake_grading == []


def test_a_class_that_nobody_could_be_graded_in_exits_non_zero_and_says_so(tmp_path, monkeypatch, capsys,
                                                                         no_forced_terminal):
    subs = class_folder(tmp_path / "subs", "ann", "ben")
    monkeypatch.setattr(classgrade, "grade_student", lambda *_, **__: (_ for _ in ()).throw(OSError("no /tmp left")))
    assert cli.main(["grade", str(subs), "--out", str(tmp_path / "out"), "--jobs", "2"]) == 1
    out = capsys.readouterr().out
    assert "end    ann: not graded: OSError: no /tmp left" in out
    assert "graded 0 of 2 students; 2 not graded" in out and "nothing was graded" in out


def test_start_lines_print_when_a_students_grading_starts_not_when_it_is_queued(tmp_path, monkeypatch, capsys,
                                                                              no_forced_terminal):
    subs = class_folder(tmp_path / "subs", "ann", "ben", "cat")
    seen: dict[str, str] = {}
    printed: list[str] = []

    def fake(student, out, *_, **__):
        printed.append(capsys.readouterr().out)
        seen[student.name] = "".join(printed)
        summary = {"student": student.name, "points": 7, "max_points": 30, "notebooks": [],
                   "problems": [] if student.name != "ben" else ["ben: no notebooks in ben"]}
        classgrade.publish(out, student, summary)
        return summary

    monkeypatch.setattr(classgrade, "grade_student", fake)
    assert cli.main(["grade", str(subs), "--out", str(tmp_path / "out"), "--jobs", "1"]) == 0
    printed.append(capsys.readouterr().out)
    assert "start  ann" in seen["ann"] and "start  ben" not in seen["ann"], seen["ann"]
    assert "end    ann: 7/30 points, 0 s  [1/3, about 0 s left]" in seen["ben"] and "start  cat" not in seen["ben"]
    log = "".join(printed)
    assert "end    ben: 7/30 points" in log and "\n      ! ben: no notebooks in ben" in log
    assert "end    cat: 7/30 points, 0 s  [3/3]" in log
    assert log.strip().splitlines()[-1].startswith("graded 3 of 3 students (1 with problems); 21/90 points in all, "
                                                   "7.0 per student; ")
    assert "\x1b" not in log, "a log gets plain lines, no bar"


def test_a_terminal_gets_a_progress_bar_with_an_eta_and_student_names_stay_text():
    from rich.console import Console

    from autograde.classroom.progress import ClassProgress

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, force_interactive=True, width=120, color_system=None)
    name = "[bold]eve\x1b]0;owned\x07"
    with ClassProgress(2, console=console) as show:
        show.started(name, ["01_linear_system.ipynb"])
        show.ended(name, {"points": 3, "max_points": 30, "problems": []})
    text = screen.getvalue()
    assert "ETA" in text and "1/2 students" in text and "━" in text, text
    assert "start  [bold]eve: 01_linear_system.ipynb" in text and "owned" not in text and "\x07" not in text
    log = io.StringIO()
    with ClassProgress(2, stream=log) as show:
        show.started(name, [])
        show.ended(name, {"points": 3, "max_points": 30, "problems": []})
    assert "ETA" not in log.getvalue() and "\x1b" not in log.getvalue()
    assert log.getvalue().splitlines()[1].startswith("  end    [bold]eve: 3/30 points, 0 s  [1/2, about")


def test_list_reads_each_notebook_and_names_the_broken_ones_and_the_ignored_files(tmp_path, capsys):
    subs = tmp_path / "subs"
    good = subs / "ann" / "gd_applications"
    good.mkdir(parents=True)
    for nb in RELEASED.glob("*.ipynb"):
        (good / nb.name).write_bytes(nb.read_bytes())
    released = (RELEASED / "01_linear_system.ipynb").read_bytes()
    (subs / "ben").mkdir()
    (subs / "ben" / "01_linear_system.ipynb").write_bytes(released[: len(released) // 2])
    (subs / "cat.ipynb").write_text("<html>a notebook saved as a web page</html>", encoding="utf-8")
    (subs / "dan.ipynb").write_text('{"cells": [], "nbformat": 4}', encoding="utf-8")
    (subs / "eve.ipynb").write_text("[1, 2]", encoding="utf-8")
    (subs / "grades.xlsx").write_bytes(b"PK")
    assert cli.main(["list", str(subs)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "ann\t01_linear_system.ipynb, 02_mnist_gradient_tape.ipynb, 03_logistic_regression.ipynb"
    assert lines[1] == "ben\t01_linear_system.ipynb (broken)"
    assert lines[2].startswith(f"    ! 01_linear_system.ipynb: truncated: its JSON stops after {len(released) // 2} "
                               "bytes") and "Fix:" in lines[2]
    assert "cat\tcat.ipynb (broken)\n    ! cat.ipynb: not JSON, so not a notebook (it starts with '<html>" in out
    assert "dan\tdan.ipynb (broken)\n    ! dan.ipynb: JSON, but not a notebook nbformat reads (The notebook" in out
    assert "eve\teve.ipynb (broken)\n    ! eve.ipynb: JSON, but not a notebook (a JSON list" in out
    assert "ignored (neither a student's folder nor a notebook): grades.xlsx" in out
    assert lines[-1] == f"5 students in {subs}; 4 broken notebook(s); 1 other entry ignored"


def test_the_readme_states_the_timeouts_gdgrade_grade_uses():
    from autograde import limits

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    for option, default in [("--cell-timeout", limits.CELL_TIMEOUT), ("--notebook-timeout", limits.NOTEBOOK_TIMEOUT),
                            ("--submission-timeout", limits.SUBMISSION_TIMEOUT)]:
        assert f"`{option}` (seconds" in readme and f", {default})" in readme.split(f"`{option}` (seconds", 1)[1][:80]


def test_the_bar_is_drawn_only_on_an_interactive_terminal(monkeypatch):
    import os

    from autograde.classroom.progress import interactive

    monkeypatch.delenv("TTY_INTERACTIVE", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as terminal:
        assert interactive(terminal) and not interactive(io.StringIO())
        monkeypatch.setenv("FORCE_COLOR", "1")  # colours asked for in a CI log draw no bar there
        assert not interactive(io.StringIO())
        monkeypatch.setenv("TERM", "dumb")
        assert not interactive(terminal)
        monkeypatch.setenv("TTY_INTERACTIVE", "1")
        assert interactive(io.StringIO())
        monkeypatch.setenv("TTY_INTERACTIVE", "0")
        monkeypatch.setenv("TERM", "xterm")
        assert not interactive(terminal)
    os.close(leader)
