"""``gdgrade``: its options parse, --student grades only those named, report prints the results folder;
``autograde.nbgrader_cli`` is nbgrader's own command line."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib

from autograde import classgrade, cli
from autograde.registry import CHECKS

ROOT = Path(__file__).resolve().parent.parent
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
    assert scripts["gdgrade"] == "autograde.cli:main"
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
    proc = subprocess.run([sys.executable, "-m", "autograde.classgrade", "list", str(subs)],
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
    """``python -m autograde.nbgrader_cli`` runs nbgrader's own application, and its process never
    imports rfc3987_syntax (1.2 s of every nbgrader command otherwise)."""
    code = ("import runpy, sys; sys.argv = ['nbgrader', '--version']\n"
            "try:\n    runpy.run_module('autograde.nbgrader_cli', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('iri grammar loaded' if sys.modules.get('rfc3987_syntax') else 'no iri grammar')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    import nbgrader

    assert out.returncode == 0, out.stderr
    assert nbgrader.__version__ in out.stdout and out.stdout.strip().endswith("no iri grammar"), out.stdout
