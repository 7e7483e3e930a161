"""The instructor's main job on the bundled example class, end to end with nbgrader.

    python -m autograde.main_job [--course DIR]

Generates ``release/`` from ``source/`` with ``nbgrader generate_assignment``, submits the
example submissions of ``tests/submissions/`` (one student each), autogrades them into the
course's SQLite gradebook and prints the grade table. The course folder defaults to the
repository itself, as an instructor would use it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from autograde import course as nbg
from autograde.registry import CHECKS, NOTEBOOKS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "submissions"


def example_class() -> dict[str, dict[str, Path]]:
    """Student name -> {notebook stem: file}, one student per example submission."""
    students: dict[str, dict[str, Path]] = {}
    for stem in NOTEBOOKS:
        for path in sorted((EXAMPLES / stem).glob("*.ipynb")):
            students.setdefault(f"{stem[:2]}_{path.stem}", {})[stem] = path
    return students


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Release, autograde and tabulate the example class.")
    parser.add_argument("--course", type=Path, default=ROOT, help="course folder (default: the repository)")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    if course != ROOT:
        nbg.make_course(course)
    t0 = time.perf_counter()
    print(f"[1/3] nbgrader generate_assignment -> {course / 'release'}", flush=True)
    nbg.generate_release(course)
    students = example_class()
    print(f"[2/3] submitting {len(students)} example students", flush=True)
    for student, files in students.items():
        nbg.submit(course, student, files)
    print("[3/3] nbgrader autograde (gradebook: gradebook.db)", flush=True)
    for i, student in enumerate(sorted(students), 1):
        print(f"      {i}/{len(students)} {student}", flush=True)
        try:
            nbg.autograde(course, student)
        except nbg.NbgraderFailed as exc:  # one broken submission never stops the class
            print(f"      ! {student}: {exc}", file=sys.stderr, flush=True)
    print()
    print(grade_table({s: v for s, v in nbg.gradebook_scores(course).items() if s in students}))
    print(f"\ndone in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
