"""The class report: per-check pass rates and the most frequent diagnosed mistakes of a class.

    python -m autograde.reports.class_report results/               # the class grader's results folder
    python -m autograde.reports.class_report --nbgrader COURSE      # an nbgrader course folder, after autograde

It writes ``checks.csv`` and ``checks.png`` beside ``grades.csv`` (in the folder given, or
``--out``): one row per check with the students graded, how many passed, the pass rate, the mean
points, the most frequent causes (``sum_instead_of_mean ×4; missing_bias ×2``) and the most
frequent first line of a failure message whose cause is not known; the chart shows the pass
rate of every check.

Both front ends give the same rows for the same class: the class grader's ``summary.json``
files (``from_summaries``) and nbgrader's gradebook with its autograded notebooks
(``from_nbgrader``) are first turned into the same ``Outcome`` records, one per student and
check, which ``rows`` counts.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from autograde.assignment import returned
from autograde.assignment.diagnose import find
from autograde.assignment.registry import ASSIGNMENT, BY_ID, CHECKS

HEAD = ["notebook", "grade_id", "points", "graded", "passed", "pass_rate", "mean_points", "causes",
        "top_message", "top_message_count"]
TOP_CAUSES = 3
MESSAGE_CHARS = 200


@dataclass(frozen=True)
class Outcome:
    """One student's result on one check, as either front end recorded it."""

    student: str
    notebook: str
    grade_id: str
    points: float
    max_points: float
    message: str = ""
    cause: str | None = None

    @property
    def passed(self) -> bool:
        return self.points >= self.max_points  # checks are all or nothing


def cause_of(message: str, declared: str | None = None) -> str | None:
    """The cause's id: the one the grader recorded, else the declared cause the message names."""
    if declared:
        return declared
    found = find(returned.unquoted(message or ""))  # a cause the grader named, not one the kernel wrote
    return found.id if found else None


def first_line(message: str) -> str:
    """The message's first line; for text quoted from a kernel, its first quoted line, marked as such."""
    kernel = returned.first_quoted_line(message or "")
    if kernel is not None:
        return f"(kernel) {kernel.strip()}"[:MESSAGE_CHARS]
    lines = (message or "").strip().splitlines()
    return lines[0].strip()[:MESSAGE_CHARS] if lines else ""


def from_summaries(results: Path) -> list[Outcome]:
    """Every check of every student under ``results/students/*/summary.json`` (the class grader's)."""
    out = []
    for path in sorted((results / "students").glob("[!.]*/summary.json")):
        summary = json.loads(path.read_text(encoding="utf-8"))
        for nb in summary.get("notebooks", []):
            for c in nb.get("checks", []):
                passed = c["status"] == "passed"
                message = "" if passed else c.get("message") or ""
                out.append(Outcome(summary["student"], nb["notebook"], c["grade_id"], float(c["points"]),
                                   float(c["max_points"]), message,
                                   None if passed else cause_of(message, c.get("cause"))))
    return out


def failure_messages(path: Path) -> dict[str, str]:
    """The grader's message in each failed test cell of an autograded notebook, by grade_id (the
    error output's ``evalue``, see ``judge.verdict_outputs``); ``{}`` when there is no notebook."""
    import nbformat

    from autograde.assignment.notebook import check_id

    if not path.is_file():
        return {}
    out = {}
    for cell in nbformat.read(path, as_version=4).cells:
        grade_id = check_id(cell)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if grade_id and errors:
            out[grade_id] = errors[0].get("evalue", "")
    return out


def from_nbgrader(course: Path, assignment: str = ASSIGNMENT) -> list[Outcome]:
    """Every registered check of every student with a submission in the course's gradebook: points
    from the gradebook, messages from ``autograded/<student>/<assignment>/<notebook>.ipynb``."""
    from nbgrader.api import Gradebook, MissingEntry

    out = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in gb.students:
            try:
                sub = gb.find_submission(assignment, student.id)
            except MissingEntry:
                continue
            for nb in sub.notebooks:
                path = course / "autograded" / student.id / assignment / f"{nb.name}.ipynb"
                messages = failure_messages(path)
                for grade in nb.grades:
                    if grade.name not in BY_ID:
                        continue
                    points, max_points = float(grade.score or 0), float(grade.max_score)
                    message = ""
                    if points < max_points:
                        message = messages.get(grade.name) or (
                            "" if path.is_file() else "not graded: nbgrader wrote no autograded notebook")
                    out.append(Outcome(student.id, nb.name, grade.name, points, max_points, message,
                                       cause_of(message) if points < max_points else None))
    return out


def _ranked(counts: Counter) -> list[tuple[str, int]]:
    """Most frequent first; ties in alphabetical order, so that the report does not depend on input order."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def rows(outcomes: list[Outcome]) -> list[list]:
    """One row per check (``HEAD``): registered checks in the registry's order, then any other."""
    by_check: dict[tuple[str, str], list[Outcome]] = {(c.notebook, c.grade_id): [] for c in CHECKS}
    for o in outcomes:
        by_check.setdefault((o.notebook, o.grade_id), []).append(o)
    table = []
    for (notebook, grade_id), results in by_check.items():
        graded = len(results)
        passed = sum(o.passed for o in results)
        failed = [o for o in results if not o.passed]
        causes = _ranked(Counter(o.cause for o in failed if o.cause))
        unexplained = _ranked(Counter(line for o in failed if not o.cause and (line := first_line(o.message))))
        points = BY_ID[grade_id].points if grade_id in BY_ID else max((o.max_points for o in results), default=0)
        table.append([
            notebook, grade_id, f"{points:g}", graded, passed,
            f"{passed / graded:.2f}" if graded else "",
            f"{sum(o.points for o in results) / graded:.2f}" if graded else "",
            "; ".join(f"{cause} ×{n}" for cause, n in causes[:TOP_CAUSES]),
            unexplained[0][0] if unexplained else "",
            unexplained[0][1] if unexplained else "",
        ])
    return table


def write_csv(path: Path, table: list[list]) -> Path:
    """``checks.csv``; message cells cannot start a spreadsheet formula (``grades_csv.cell``)."""
    from autograde.reports.grades_csv import cell

    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL)
    writer.writerow(HEAD)
    writer.writerows([cell(v) for v in row] for row in table)
    tmp = path.with_suffix(".csv.tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_chart(path: Path, table: list[list], students: int) -> Path:
    """``checks.png``: a horizontal bar of the pass rate of every check, in the CSV's order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r[1]} ({r[4]}/{r[3]})" for r in table]
    rates = [100 * float(r[5]) if r[5] else 0.0 for r in table]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(table) + 1.2))
    try:
        ax.barh(range(len(table)), rates, color="#4c72b0")
        ax.set_yticks(range(len(table)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("students who passed (%)")
        ax.set_title(f"Pass rate per check ({students} students)", fontsize=10)
        for y, (row, rate) in enumerate(zip(table, rates, strict=True)):
            ax.text(min(rate + 1, 92), y, f"{rate:.0f}%" if row[5] else "no student graded", va="center",
                    fontsize=7)
        fig.tight_layout()
        tmp = path.with_suffix(".png.tmp")
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
        os.replace(tmp, path)
    finally:
        plt.close(fig)
    return path


def write(out: Path, outcomes: list[Outcome]) -> tuple[Path, Path]:
    """Write ``out/checks.csv`` and ``out/checks.png`` from the outcomes of a class."""
    table = rows(outcomes)
    students = len({o.student for o in outcomes})
    return write_csv(out / "checks.csv", table), write_chart(out / "checks.png", table, students)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograde.reports.class_report",
                                     description="Per-check pass rates and most frequent mistakes of a class.")
    parser.add_argument("folder", type=Path,
                        help="the class grader's results folder (holding students/), or with --nbgrader a course folder")
    parser.add_argument("--nbgrader", action="store_true",
                        help="read the course's gradebook.db and autograded/ notebooks")
    parser.add_argument("--out", type=Path, help="where to write checks.csv and checks.png (default: FOLDER)")
    args = parser.parse_args(argv)
    if args.nbgrader and not (args.folder / "gradebook.db").is_file():
        raise SystemExit(f"{args.folder}: no gradebook.db. Fix: run `nbgrader autograde {ASSIGNMENT}` there first.")
    if not args.nbgrader and not (args.folder / "students").is_dir():
        raise SystemExit(f"{args.folder}: no students/ folder. Fix: pass the --out folder of "
                         "`python -m autograde.classroom.classgrade grade`, or an nbgrader course with --nbgrader.")
    outcomes = from_nbgrader(args.folder) if args.nbgrader else from_summaries(args.folder)
    out = args.out or args.folder
    out.mkdir(parents=True, exist_ok=True)
    for path in write(out, outcomes):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
