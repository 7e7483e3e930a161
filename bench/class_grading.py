"""Seconds to grade the example class: the hidden pytest graders with 1 and 2 jobs, and nbgrader.

Usage: python bench/class_grading.py [--skip-nbgrader]
The class is autograde/demo/examples.py's CLASS (7 students × 3 notebooks). Prints wall seconds,
seconds per submission (a student's three notebooks) and the speed-up of 2 jobs over 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde.demo.examples import CLASS, class_files  # noqa: E402
from autograde.frontends.nbgrader import course as nbg  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-nbgrader", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("GD_MNIST_OFFLINE", "1")
    n = len(CLASS)
    with tempfile.TemporaryDirectory() as tmp:
        course = nbg.make_course(Path(tmp) / "course")
        nbg.generate_release(course)
        for student in CLASS:
            nbg.submit(course, student, class_files(student))
        seconds = {}
        for jobs in (1, 2):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "autograde.classroom.classgrade", "grade", str(course / "submitted"),
                            "--out", str(Path(tmp) / f"results-{jobs}"), "--jobs", str(jobs)],
                           cwd=ROOT, check=True, capture_output=True)
            seconds[jobs] = time.perf_counter() - t
            print(f"pytest graders, {jobs} job(s): {seconds[jobs]:6.1f} s for {n} submissions, "
                  f"{seconds[jobs] / n:5.1f} s per submission", flush=True)
        print(f"speed-up of 2 jobs over 1: {seconds[1] / seconds[2]:.2f}×")
        if not args.skip_nbgrader:
            t = time.perf_counter()
            nbg.autograde(course, check=False)
            s = time.perf_counter() - t
            print(f"nbgrader autograde (one student at a time): {s:6.1f} s for {n} submissions, {s / n:5.1f} s per submission")


if __name__ == "__main__":
    import published  # bench/published.py, beside this script

    published.run(main, __file__)
