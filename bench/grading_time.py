"""Time to autograde one full submission (the three solution notebooks), whole process, median of runs.

Usage: python bench/grading_time.py [--runs 3] [--notebook PATH.ipynb ...]
Times (1) the hidden pytest graders, ``python -m pytest autograde --submission FOLDER``, and
(2) ``nbgrader autograde`` of one student in a fresh course folder, each as a new process.
``--notebook`` grades only the notebooks given (each named by its exercise's stem).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde import course as nbg  # noqa: E402
from autograde.registry import NOTEBOOKS  # noqa: E402


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--notebook", type=Path, nargs="*",
                        default=[ROOT / "tests" / "submissions" / stem / "solution.ipynb" for stem in NOTEBOOKS])
    args = parser.parse_args()
    notebooks = {p.resolve().parent.name if p.stem == "solution" else p.stem: p.resolve() for p in args.notebook}
    print(f"grading {len(notebooks)} notebook(s): {', '.join(notebooks)}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = tmp / "submission"
        folder.mkdir()
        for stem, path in notebooks.items():
            shutil.copy2(path, folder / f"{stem}.ipynb")

        def pytest_grader():
            subprocess.run([sys.executable, "-m", "pytest", "autograde", "--submission", str(folder),
                            "--results-dir", str(tmp / "results"), "-q", "-p", "no:cacheprovider"],
                           cwd=ROOT, check=True, capture_output=True)

        course = nbg.make_course(tmp / "course")
        nbg.generate_release(course)
        nbg.submit(course, "student", notebooks)

        def nbgrader_autograde():
            nbg.autograde(course, "student")

        for label, fn in (("pytest autograde --submission", pytest_grader),
                          ("nbgrader autograde (one student)", nbgrader_autograde)):
            times = [timed(fn) for _ in range(args.runs)]
            print(f"{label:<34} median {statistics.median(times):6.1f} s "
                  f"(min {min(times):.1f}, max {max(times):.1f}, {args.runs} runs)")


if __name__ == "__main__":
    main()
