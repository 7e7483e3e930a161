"""Time to autograde one submission of exercise 1, whole process, median of several runs.

Usage: python bench/grading_time.py [--runs 3] [--notebook tests/submissions/01_linear_system/solution.ipynb]
Times (1) the hidden pytest graders, ``python -m pytest autograde --submission NB``, and
(2) ``nbgrader autograde`` of one student in a fresh course folder, each as a new process.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde import course as nbg  # noqa: E402


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--notebook", type=Path,
                        default=ROOT / "tests" / "submissions" / "01_linear_system" / "solution.ipynb")
    args = parser.parse_args()
    nb = args.notebook.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def pytest_grader():
            subprocess.run([sys.executable, "-m", "pytest", "autograde", "--submission", str(nb),
                            "--results-dir", str(tmp / "results"), "-q", "-p", "no:cacheprovider"],
                           cwd=ROOT, check=True, capture_output=True)

        course = nbg.make_course(tmp / "course")
        nbg.generate_release(course)
        nbg.submit(course, "student", {nb.stem if nb.stem.startswith("0") else "01_linear_system": nb})

        def nbgrader_autograde():
            nbg.autograde(course, "student")

        for label, fn in (("pytest autograde --submission", pytest_grader),
                          ("nbgrader autograde (one student)", nbgrader_autograde)):
            times = [timed(fn) for _ in range(args.runs)]
            print(f"{label:<34} median {statistics.median(times):6.1f} s "
                  f"(min {min(times):.1f}, max {max(times):.1f}, {args.runs} runs)")


if __name__ == "__main__":
    main()
