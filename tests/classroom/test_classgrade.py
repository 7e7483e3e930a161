"""Class grading: bad input is reported per student and never stops the class; jobs and shards agree."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from autograde.assignment.registry import CHECKS
from autograde.classroom import classgrade
from autograde.frontends.pytest import student_run
from autograde.kernel import resources
from tests.conftest import run_class
from tests.examples import example, path_of

ODD = "Zoë O'Brien (2)"


def untouched(notebook: str = "01_linear_system") -> bytes:
    return path_of(example(notebook, "untouched")).read_bytes()


@pytest.fixture(scope="module")
def bad_class(tmp_path_factory) -> Path:
    """One student per kind of bad input, in nbgrader's layout, plus one flat notebook."""
    root = tmp_path_factory.mktemp("bad-class")

    def put(student: str, name: str, data: bytes) -> None:
        folder = root / student / "gd_applications"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)

    put("missing_two", "01_linear_system.ipynb", untouched())
    put("broken_json", "01_linear_system.ipynb", b'{"cells": [')
    put("other_assignment", "01_linear_system.ipynb",
        b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    put("renamed", "homework.ipynb", untouched())
    (root / "empty" / "gd_applications").mkdir(parents=True)
    put(ODD, "01_linear_system.ipynb", untouched())
    put("duplicate", "01_linear_system.ipynb", untouched())
    put("duplicate", "01_linear_system-Copy1.ipynb", untouched())
    (root / "flat_student.ipynb").write_bytes(untouched())
    return root


def fingerprint(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def bad_run(bad_class, tmp_path_factory):
    before = fingerprint(bad_class)
    run = run_class(bad_class, tmp_path_factory.mktemp("bad-results"), "--jobs", "2")
    assert run.returncode == 0, run.output
    assert fingerprint(bad_class) == before, "a submission was modified"
    return run


@pytest.mark.slow
@pytest.mark.parametrize("student, status, line", [
    ("missing_two", "graded with problems", "02_mnist_gradient_tape.ipynb: missing"),
    ("broken_json", "graded with problems", "not a valid notebook"),
    ("other_assignment", "graded with problems", "none of its cells belong to gd_applications"),
    ("renamed", "graded with problems", "homework.ipynb: renamed; graded as 01_linear_system.ipynb"),
    ("empty", "graded with problems", "empty: no notebooks"),
    (ODD, "graded with problems", "03_logistic_regression.ipynb: missing"),
    ("duplicate", "graded with problems", "graded 01_linear_system.ipynb, not 01_linear_system-Copy1.ipynb"),
    ("flat_student", "graded with problems", "02_mnist_gradient_tape.ipynb: missing"),
])
def test_each_bad_input_gets_a_clear_line_and_the_class_is_graded(bad_run, student, status, line):
    rows = {r["student"]: r for r in bad_run.csv()}
    assert rows[student]["status"] == status
    assert line in rows[student]["problems"] + json.dumps(bad_run.summary(student), ensure_ascii=False)
    assert rows[student]["total"] == "0"  # every notebook here is empty, broken or missing
    assert line in bad_run.output or line.split(":")[0] in bad_run.output


@pytest.mark.slow
def test_an_invalid_notebook_scores_zero_with_a_fix(bad_run):
    nb = next(n for n in bad_run.summary("broken_json")["notebooks"] if n["notebook"] == "01_linear_system")
    assert nb["points"] == 0 and "not a valid notebook" in nb["problem"] and "Fix:" in nb["problem"]


@pytest.mark.slow
def test_odd_student_names_get_safe_folders_and_keep_their_name(bad_run):
    folder = bad_run.out / "students" / student_run.safe_name(ODD)
    assert (folder / "summary.json").exists() and "'" not in folder.name and " " not in folder.name
    assert bad_run.summary(ODD)["student"] == ODD


@pytest.mark.slow
def test_shards_with_one_job_merge_into_the_same_grades_as_two_jobs(bad_class, bad_run, tmp_path):
    parts = [run_class(bad_class, tmp_path / f"part{i}", "--shard", f"{i}/2", "--jobs", "1") for i in (1, 2)]
    assert all(p.returncode == 0 for p in parts), [p.output for p in parts]
    assert {r["student"] for r in parts[0].csv()}.isdisjoint({r["student"] for r in parts[1].csv()})
    classgrade.main(["merge", str(parts[0].out), str(parts[1].out), "--out", str(tmp_path / "merged")])
    merged = (tmp_path / "merged" / "grades.csv").read_text(encoding="utf-8")
    assert merged == (bad_run.out / "grades.csv").read_text(encoding="utf-8")
    assert ((tmp_path / "merged" / "checks.csv").read_text(encoding="utf-8")
            == (bad_run.out / "checks.csv").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_regrading_is_idempotent_and_keeps_other_students(bad_class, bad_run, tmp_path):
    out = tmp_path / "again"
    first = run_class(bad_class, out, "--shard", "1/3")
    csv_first = (out / "grades.csv").read_text(encoding="utf-8")
    graded_first = len(first.csv())
    second = run_class(bad_class, out, "--shard", "1/3")
    assert first.returncode == second.returncode == 0
    assert (out / "grades.csv").read_text(encoding="utf-8") == csv_first
    third = run_class(bad_class, out, "--shard", "2/3")  # adds students, keeps the first shard's
    assert third.returncode == 0
    assert len(third.csv()) == graded_first + len(run_class_students(bad_class, "2/3"))
    assert csv_first.splitlines()[1] in (out / "grades.csv").read_text(encoding="utf-8").splitlines()


def run_class_students(root: Path, spec: str) -> list[str]:
    return [s.name for s in classgrade.shard(classgrade.discover(root), spec)]


def test_a_student_whose_grading_breaks_is_not_graded_and_the_rest_are(tmp_path, monkeypatch):
    for name in ("ann", "ben", "cat"):
        (tmp_path / "subs" / name).mkdir(parents=True)

    def fake(student, out, *_, **__):
        if student.name == "ben":
            raise RuntimeError("kernel could not start")
        summary = {"student": student.name, "points": 7, "max_points": 30, "notebooks": [], "problems": []}
        classgrade.publish(out, student, summary)
        return summary

    monkeypatch.setattr(classgrade, "grade_student", fake)
    assert classgrade.main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--jobs", "2"]) == 0
    import csv

    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "out" / "grades.csv", encoding="utf-8"))}
    assert rows["ann"]["total"] == rows["cat"]["total"] == "7"
    assert rows["ben"]["status"] == "not graded" and "kernel could not start" in rows["ben"]["problems"]
    report = list(csv.DictReader(open(tmp_path / "out" / "checks.csv", encoding="utf-8")))
    assert [r["grade_id"] for r in report] == [c.grade_id for c in CHECKS]  # the class report, beside it
    assert all(r["graded"] == "0" for r in report) and (tmp_path / "out" / "checks.png").is_file()


def test_shard_slices_cover_the_class_once():
    students = [classgrade.Student(n) for n in "abcdefg"]
    slices = [classgrade.shard(students, f"{i}/3") for i in (1, 2, 3)]
    assert sorted(s.name for part in slices for s in part) == list("abcdefg")
    with pytest.raises(SystemExit, match="expected I/N"):
        classgrade.shard(students, "4/3")


def test_linked_submission_files_are_reported_and_never_followed(tmp_path):
    secret = tmp_path / "gradebook.db"
    secret.write_text("grades of the whole class", encoding="utf-8")
    folder = tmp_path / "subs" / "mallory" / "gd_applications"
    folder.mkdir(parents=True)
    (folder / "01_linear_system.ipynb").symlink_to(secret)
    (tmp_path / "subs" / "flat.ipynb").symlink_to(secret)
    students = {s.name: s for s in classgrade.discover(tmp_path / "subs")}
    assert students["mallory"].files == [] and students["flat"].files == []
    assert "a link or special file" in students["mallory"].problems[0]
    assert "a link or special file" in students["flat"].problems[0]


def test_a_name_that_starts_a_spreadsheet_formula_is_written_as_text(tmp_path):
    for name in ("=HYPERLINK(\"http://x\",\"y\")", "+1", "-2", "@SUM(A1)", "plain"):
        student = classgrade.Student(name)
        classgrade.publish(tmp_path, student, {"student": name, "points": 1, "max_points": 30, "notebooks": [],
                                               "problems": [f"{name}.ipynb: missing"]})
    import csv

    rows = list(csv.DictReader(open(classgrade.write_csv(tmp_path), encoding="utf-8")))
    cells = [v for r in rows for v in r.values()]
    assert not [v for v in cells if v[:1] in "=+-@"], cells
    assert {r["student"] for r in rows} >= {"'=HYPERLINK(\"http://x\",\"y\")", "plain"}


def test_the_classs_kernels_share_the_cores_however_many_notebooks_are_one_students(tmp_path, monkeypatch):
    for name in ("ann", "ben", "cat"):
        (tmp_path / "subs" / name).mkdir(parents=True)
    seen = {}

    def fake_run(cmd, **kwargs):  # each student's grader process: what it would be told
        seen[cmd[cmd.index("--student") + 1]] = (cmd[cmd.index("--jobs") + 1],
                                                 kwargs["env"].get("GD_GRADING_KERNEL_THREADS"))
        raise RuntimeError("not graded here")

    monkeypatch.delenv("GD_GRADING_KERNEL_THREADS", raising=False)
    monkeypatch.setattr(resources, "cores", lambda: 4)
    monkeypatch.setattr(student_run.grader_process, "run", fake_run)
    # nobody is graded here: the class grader says so with its exit status
    assert classgrade.main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--jobs", "2"]) == 1
    # the last student gets both jobs for their notebooks; every kernel still gets 4 cores / 2 jobs
    assert sorted(seen.values()) == [("1", "2"), ("1", "2"), ("2", "2")]


@pytest.mark.slow
def test_each_students_start_and_end_lines_bracket_their_grading_and_the_summary_counts_the_class(bad_class,
                                                                                                 bad_run):
    students = [s.name for s in classgrade.discover(bad_class)]
    lines = bad_run.output.splitlines()
    running, most = set(), 0
    for line in lines:
        for name in students:
            if line.startswith(f"  start  {name}: "):
                running.add(name)
            elif line.startswith(f"  end    {name}: "):
                assert name in running, f"{name} ended before it started"
                running.discard(name)
        most = max(most, len(running))
    assert running == set() and most == 2, "a student's start line prints when one of the 2 jobs takes them"
    assert sum(ln.startswith("  start  ") for ln in lines) == len(students)
    rows = bad_run.csv()
    graded = [r for r in rows if r["status"] != "not graded"]
    points = f"{sum(float(r['total']) for r in graded):g}/{sum(float(r['max_points']) for r in graded):g}"
    assert f"graded {len(graded)} of {len(students)} students ({len(graded)} with problems)" in bad_run.output
    assert f"; {points} points in all, " in bad_run.output


def test_list_of_a_class_names_its_broken_notebook_and_grades_nothing(bad_class, capsys):
    assert classgrade.main(["list", str(bad_class)]) == 0
    out = capsys.readouterr().out
    assert "broken_json\t01_linear_system.ipynb (broken)\n    ! 01_linear_system.ipynb: truncated" in out
    assert "renamed\thomework.ipynb\n    ! homework.ipynb: renamed; graded as 01_linear_system.ipynb" in out
    assert "other_assignment\t01_linear_system.ipynb\n    ! 01_linear_system.ipynb: none of its cells belong" in out
    assert out.count("(broken)") == 1 and out.splitlines()[-1].endswith("; 1 broken notebook(s)")


def test_a_student_folder_that_is_a_link_is_not_graded_whatever_it_names(tmp_path):
    from autograde.assignment.registry import SOURCE

    (tmp_path / "a_vic" / "gd_applications").mkdir(parents=True)
    (tmp_path / "a_vic" / "gd_applications" / "01_linear_system.ipynb").write_bytes(untouched())
    (tmp_path / "b_link").symlink_to(tmp_path / "a_vic")
    (tmp_path / "b_sol").mkdir()
    (tmp_path / "b_sol" / "gd_applications").symlink_to(SOURCE)
    students = {s.name: s for s in classgrade.discover(tmp_path)}
    assert [p.name for p in students["a_vic"].files] == ["01_linear_system.ipynb"]
    for name in ("b_link", "b_sol"):
        assert students[name].files == [] and "a link, not a folder" in students[name].problems[0], name


def test_names_that_look_alike_never_share_a_results_folder():
    names = ["a_vic", "\uff41_vic", "\u00e1_vic", "a\u0301_vic", "Zoë", "Zoe\u0308"]
    assert len({student_run.safe_name(n) for n in names}) == len(names)
