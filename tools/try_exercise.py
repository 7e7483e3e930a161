"""Grade one exercise's example submissions through both front ends, before it is listed.

``python tools/try_exercise.py autograde.exercises.<name>`` makes a throwaway nbgrader course from
``source/``, generates its release, builds every example of the exercise's ``examples.py`` from
that release, autogrades them with nbgrader and with the pytest graders, and prints each check's
points against the points the example deserves (a line marked ✘ where they differ). The exercise
is added through ``GD_GRADING_EXERCISES``: nothing of the repository is written.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exercise", help="the exercise's module, e.g. autograde.exercises.optimizers")
    parser.add_argument("--only", nargs="*", help="example names to grade (default: all)")
    parser.add_argument("--no-nbgrader", action="store_true", help="grade with the pytest graders only")
    args = parser.parse_args()
    listed = importlib.import_module("autograde.exercises").EXERCISES
    if args.exercise not in listed:
        os.environ["GD_GRADING_EXERCISES"] = args.exercise
    import nbformat

    from autograde.assignment.registry import NOTEBOOKS
    from autograde.demo.examples import build
    from autograde.frontends.nbgrader import course as nbg

    module = importlib.import_module(f"{args.exercise}.examples")
    examples = [ex for ex in module.EXAMPLES if not args.only or ex.name in args.only]
    work = Path(tempfile.mkdtemp(prefix="try-exercise-"))
    course = nbg.make_course(work / "course")
    for other in (course / "source" / nbg.ASSIGNMENT).glob("*.ipynb"):  # another exercise, not yet listed
        if other.stem not in NOTEBOOKS:
            other.unlink()
    release = nbg.generate_release(course)
    for ex in examples:
        nb = build(ex, release)
        folder = course / "submitted" / ex.name / nbg.ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{ex.notebook}.ipynb")
    bad = 0
    if not args.no_nbgrader:
        started = time.monotonic()
        nbg.autograde(course, check=False)
        print(f"nbgrader autograde: {time.monotonic() - started:.1f} s for {len(examples)} submissions")
        scores = nbg.gradebook_scores(course)
        for ex in examples:
            got = {gid: int(scores.get(ex.name, {}).get(gid, -1)) for gid in ex.points}
            bad += _show("nbgrader", ex, got, nbg.cell_reports(course, ex.name, ex.notebook))
    for ex in examples:
        path = course / "submitted" / ex.name / nbg.ASSIGNMENT / f"{ex.notebook}.ipynb"
        results = work / "results" / ex.name
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "pytest", "autograde", "--submission", str(path),
                               "--results-dir", str(results), "-p", "no:cacheprovider", "-q"],
                              cwd=ROOT, capture_output=True, text=True, env=os.environ)
        summary = results / "summary.json"
        if not summary.exists():
            print(f"pytest graders: {ex.name}: no summary\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
            bad += 1
            continue
        checks = {c["grade_id"]: c for nb in json.loads(summary.read_text())["notebooks"] for c in nb["checks"]}
        got = {gid: int(checks[gid]["points"]) if gid in checks else -1 for gid in ex.points}
        print(f"pytest graders: {ex.name} in {time.monotonic() - started:.1f} s")
        bad += _show("pytest", ex, got, {gid: c.get("message", "") for gid, c in checks.items()})
    print(f"{work}: {'all as deserved' if not bad else f'{bad} example(s) not as deserved'}")
    return 1 if bad else 0


def _show(front_end: str, ex, got: dict, messages: dict) -> int:
    wrong = {gid for gid in ex.points if got[gid] != ex.points[gid]}
    print(f"  [{front_end}] {ex.name}: {sum(got.values())} points, deserves {sum(ex.points.values())} "
          f"{'✔' if not wrong else '✘'}")
    for gid in ex.points:
        mark = "✘" if gid in wrong else " "
        message = " ".join(str(messages.get(gid, "")).split())[:300]
        print(f"    {mark} {gid}: {got[gid]} (deserves {ex.points[gid]}) {message}")
    return bool(wrong)


if __name__ == "__main__":
    sys.exit(main())
