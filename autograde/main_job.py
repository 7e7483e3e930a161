"""The instructor's main job on the bundled example class, end to end with nbgrader.

    python -m autograde.main_job [--course DIR]

1. ``nbgrader generate_assignment``: ``release/`` from ``source/``;
2. the example class (``autograde/examples.py``, from the exercise folders: the solution, the untouched release and typical
   mistakes across all three notebooks) placed in ``submitted/<student>/gd_applications/``;
3. ``nbgrader autograde`` into the SQLite gradebook ``gradebook.db``, with a progress line per
   student and notebook;
4. ``nbgrader generate_feedback`` (HTML under ``feedback/``) and ``nbgrader export`` (``grades.csv``),
   then the class report beside it (``checks.csv``, ``checks.png``: ``autograde.class_report``);
5. a table of students, points per notebook and total.

The course folder defaults to the repository itself, as an instructor would use it.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from autograde import class_report
from autograde import course as nbg
from autograde.registry import CHECKS, NOTEBOOKS

ROOT = Path(__file__).resolve().parent.parent


def grade_table(scores: dict[str, dict[str, float]]) -> str:
    """A plain-text table: one row per student, points per notebook and total."""
    per_nb = {stem: [c for c in CHECKS if c.notebook == stem] for stem in NOTEBOOKS}
    head = ["student"] + [f"{stem} (/{sum(c.points for c in cs)})" for stem, cs in per_nb.items()]
    head.append(f"total (/{sum(c.points for c in CHECKS)})")
    rows = []
    for student in sorted(scores):
        s = scores[student]
        nb_points = [sum(s.get(c.grade_id, 0.0) for c in cs) for cs in per_nb.values()]
        rows.append([student] + [f"{p:g}" for p in nb_points] + [f"{sum(nb_points):g}"])
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*head), fmt.format(*("-" * w for w in widths))]
                     + [fmt.format(*r) for r in rows])


_PROGRESS = re.compile(r"submitted/([^/]+)/[^/]+/([^/\s]+)\.ipynb")


def progress_printer(total: int):
    """A log-line callback that prints "[k/total] student / notebook" when nbgrader starts one."""
    seen: set[tuple[str, str]] = set()

    def on_line(line: str) -> None:
        m = _PROGRESS.search(line)
        if m and ("Sanitizing" in line or "Converting notebook" in line) and m.groups() not in seen:
            seen.add(m.groups())
            print(f"      [{len(seen)}/{total}] grading {m.group(1)} / {m.group(2)}", flush=True)
        elif "ERROR" in line or "Traceback" in line:
            print(f"      ! {line}", flush=True)

    return on_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Release, autograde and tabulate the example class.")
    parser.add_argument("--course", type=Path, default=ROOT, help="course folder (default: the repository)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from autograde.examples import CLASS, class_files

    course = args.course.resolve()
    if course != ROOT:
        nbg.make_course(course)
    t0 = time.perf_counter()
    print(f"[1/5] nbgrader generate_assignment -> {course / 'release'}", flush=True)
    nbg.generate_release(course)
    print(f"[2/5] submitting the example class: {', '.join(CLASS)}", flush=True)
    for student in CLASS:
        nbg.submit(course, student, class_files(student))
    print("[3/5] nbgrader autograde -> gradebook.db", flush=True)
    started = time.perf_counter()
    try:
        nbg.autograde(course, on_line=progress_printer(len(CLASS) * len(NOTEBOOKS)))
    except nbg.NbgraderFailed as exc:  # grades already saved stay in the gradebook
        print(f"      ! {exc}", file=sys.stderr, flush=True)
    print(f"      graded {len(CLASS)} students in {time.perf_counter() - started:.0f} s", flush=True)
    print("[4/5] nbgrader generate_feedback -> feedback/, nbgrader export -> grades.csv, "
          "class report -> checks.csv, checks.png", flush=True)
    nbg.generate_feedback(course)
    nbg.export_grades(course, course / "grades.csv")
    class_report.write(course, class_report.from_nbgrader(course))
    print("[5/5] grades\n", flush=True)
    print(grade_table({s: v for s, v in nbg.gradebook_scores(course).items() if s in CLASS}))
    print(f"\ndone in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
