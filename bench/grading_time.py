"""Time to autograde one full submission (the three solution notebooks), whole process, median of runs.

Usage: python bench/grading_time.py [--runs 3] [--notebook PATH.ipynb ...] [--skip-lesson]
Times (1) the hidden pytest graders, ``python -m pytest autograde --submission FOLDER`` (with
their default ``--jobs``, with ``--jobs 1``, and with kernels started cold), and (2) ``nbgrader autograde`` of one student
in a fresh course folder (as configured, and with no notebook executed in the background),
each as a new process, TensorFlow's start included, the configurations taken in turn in each
round; prints each notebook's seconds and kernel peak memory (summary.json). Then (3) runs the lesson's own
three programs as written (bench/lesson_linear_system.py eager, bench/lesson_mnist.py) in the
same run and prints the ratio of grading time to theirs. ``--notebook`` grades only the
notebooks given (each named by its exercise's stem).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde.assignment.registry import NOTEBOOKS  # noqa: E402
from autograde.frontends.nbgrader import course as nbg  # noqa: E402
from autograde.kernel.resources import default_jobs  # noqa: E402

#: kernels started cold, each importing TensorFlow (where the grader is root they are otherwise
#: forked from one process per submission that imported it once: autograde/kernel/forked/zygote.py)
COLD = {"GD_GRADING_FORK_KERNELS": "0"}


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-lesson", action="store_true", help="the lesson's programs take about 3 minutes")
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

        def pytest_grader(*options, env=None):
            subprocess.run([sys.executable, "-m", "pytest", "autograde", "--submission", str(folder),
                            "--results-dir", str(tmp / "results"), "-q", "-p", "no:cacheprovider", *options],
                           cwd=ROOT, check=True, capture_output=True, env={**os.environ, **(env or {})})

        course = nbg.make_course(tmp / "course")
        nbg.generate_release(course)
        nbg.submit(course, "student", notebooks)

        def nbgrader_autograde():
            nbg.autograde(course, "student")

        per_notebook = {}  # of the last run with --jobs 1 (notebooks graded one at a time)

        def pytest_grader_one_at_a_time():
            pytest_grader("--jobs", "1")
            per_notebook.update(json.loads((tmp / "results" / "summary.json").read_text(encoding="utf-8")))

        configs = {f"pytest graders (--jobs {default_jobs()}, the default)": pytest_grader,
                   "pytest graders --jobs 1": pytest_grader_one_at_a_time,
                   "pytest graders, kernels started cold": lambda: pytest_grader(env=COLD),
                   "nbgrader autograde (one student)": nbgrader_autograde,
                   "nbgrader autograde, nothing in the background": lambda: nbg.autograde(course, "student", options=(
                       "--GradingExecute.background_workers=0",))}
        # round-robin: a change of the host's speed during the bench touches every configuration alike
        times: dict[str, list[float]] = {label: [] for label in configs}
        for _ in range(args.runs):
            for label, fn in configs.items():
                times[label].append(timed(fn))
        medians = {}
        for label, seconds in times.items():
            medians[label] = statistics.median(seconds)
            print(f"{label:<47} median {medians[label]:6.1f} s "
                  f"(min {min(seconds):.1f}, max {max(seconds):.1f}, {args.runs} runs)", flush=True)
            if label.startswith("pytest graders --jobs 1"):
                for nb in per_notebook["notebooks"]:
                    print(f"    {nb['notebook']:<26} {nb['seconds']:5.1f} s, kernel peak memory "
                          f"{nb['peak_memory_mb']} MiB, {nb['points']}/{nb['max_points']} points")
        if args.skip_lesson:
            return
        lesson = timed(lambda: [subprocess.run([sys.executable, str(ROOT / "bench" / script), *options], cwd=ROOT,
                                               check=True, capture_output=True)
                                for script, options in (("lesson_linear_system.py", ("--runs", "1", "--skip-compiled")),
                                                        ("lesson_mnist.py", ()))])
        print(f"the lesson's three programs as written, on the same data: {lesson:.1f} s")
        for label, seconds in medians.items():
            print(f"    {label:<47} {seconds / lesson:.2f} of that")


if __name__ == "__main__":
    import published  # bench/published.py, beside this script

    published.run(main, __file__)
