"""``gdgrade``: grade a class, merge shards, list students, print a results folder's report.

    gdgrade grade SUBMITTED --out DIR [--jobs N] [--shard I/N] [--student NAME ...]
    gdgrade merge DIR [DIR ...] --out DIR
    gdgrade list SUBMITTED
    gdgrade report DIR
    gdgrade --version

``grade``, ``merge`` and ``list`` are ``python -m autograde.classroom.classgrade``'s commands.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import unicodedata
from pathlib import Path

from autograde.assignment.registry import CHECKS, NOTEBOOKS
from autograde.classroom import classgrade
from autograde.classroom.arguments import Parser, version


def width(text: str) -> int:
    """Columns a terminal gives ``text`` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(rows: list[list[str]]) -> str:
    widths = [max(width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c + " " * (w - width(c)) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def read_results(out: Path) -> tuple[list[dict], list[dict]]:
    """The rows of ``out/grades.csv`` and every student's summary, with errors naming the file."""
    grades = out / "grades.csv"
    if not grades.is_file():
        raise SystemExit(f"{grades}: not found. Fix: pass the --out folder of `gdgrade grade` or `gdgrade merge`.")
    with open(grades, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and not {"student", "total", "max_points", "status"} <= rows[0].keys():
        raise SystemExit(f"{grades}: not a grades table written by gdgrade (columns {list(rows[0])}). "
                         "Fix: re-run `gdgrade merge` into that folder.")
    summaries = []
    for path in sorted((out / "students").glob("[!.]*/summary.json")):
        try:
            summaries.append(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SystemExit(f"{path}: not valid JSON ({exc}). Fix: re-grade that student with "
                             "`gdgrade grade ... --student NAME`.") from None
    return rows, summaries


def check_counts(summaries: list[dict]) -> list[list[str]]:
    """Per check: students who passed it and mean points, over every student in the folder."""
    passed: dict[tuple[str, str], int] = {}
    points: dict[tuple[str, str], float] = {}
    maximum = {(c.notebook, c.grade_id): c.points for c in CHECKS}
    for summary in summaries:
        for nb in summary.get("notebooks", []):
            for c in nb.get("checks", []):
                key = (nb["notebook"], c["grade_id"])
                maximum.setdefault(key, c["max_points"])
                passed[key] = passed.get(key, 0) + (c["status"] == "passed")
                points[key] = points.get(key, 0) + c["points"]
    n = len(summaries)
    rows = [["notebook", "check", "passed", "mean points"]]
    for (notebook, grade_id), top in maximum.items():
        mean = points.get((notebook, grade_id), 0) / n if n else 0
        rows.append([notebook, grade_id, f"{passed.get((notebook, grade_id), 0)}/{n}", f"{mean:.2f}/{top:g}"])
    return rows


def report(args) -> int:
    """Print the grade table and how many students passed each check."""
    rows, summaries = read_results(args.dir)
    columns = [c for c in ["student", *NOTEBOOKS, "total", "max_points", "status"] if not rows or c in rows[0]]
    print(f"{args.dir / 'grades.csv'}: {len(rows)} students")
    if rows:
        print(table([columns] + [[r[c] for c in columns] for r in rows]))
        for r in rows:
            if r.get("problems"):
                print(f"  ! {r['student']}: {r['problems']}")
    print()
    print(f"checks ({len(summaries)} students' summary.json)")
    print(table(check_counts(summaries)))
    return 0


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="gdgrade", description="Grade a class with the hidden pytest graders.",
               epilog="`gdgrade COMMAND --help` lists a command's options with their units and defaults.")
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = p.add_subparsers(dest="command", required=True)
    classgrade.add_grade_arguments(sub.add_parser("grade", help="grade every submission under a folder"))
    classgrade.add_merge_arguments(sub.add_parser("merge", help="join the results folders of several shards"))
    classgrade.add_list_arguments(sub.add_parser("list", help="print the students found in a submissions folder"))
    r = sub.add_parser("report", help="print a results folder's grade table and per-check pass counts")
    r.add_argument("dir", type=Path, metavar="DIR", help="a results folder (--out of `grade` or `merge`: "
                                                         "holds grades.csv and students/)")
    r.set_defaults(func=report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
