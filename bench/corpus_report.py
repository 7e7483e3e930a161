"""Grade the corpus of broken and hostile submissions and print what grading did with each.

Usage: python bench/corpus_report.py [--write docs/robustness.md]
Runs tests/corpus.py's notebooks through both front ends — the class grader (hidden pytest
graders, 2 jobs) and ``nbgrader autograde`` — with tests/corpus.py's time limits, and
prints one row per case: the points under each, the report line of its first failed check,
and the seconds the pytest graders took.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde.frontends.nbgrader import course as nbg  # noqa: E402
from autograde.frontends.pytest.student_run import safe_name  # noqa: E402
from autograde.kernel.sandbox import describe  # noqa: E402
from tests.corpus import CASES, CELL_TIMEOUT, NOTEBOOK_TIMEOUT, path_of  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="also write the table as Markdown to this file")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "subs"
        subs.mkdir()
        for case in CASES:
            shutil.copy(path_of(case), subs / f"{case.name}.ipynb")
        canary, doomed, folder = Path(tmp) / "canary", Path(tmp) / "doomed", Path(tmp) / "others"
        canary.write_text("untouched", encoding="utf-8")
        doomed.write_text("untouched", encoding="utf-8")
        folder.mkdir()
        (folder / "bob.ipynb").write_text("{}", encoding="utf-8")
        os.environ.update({"GD_MNIST_OFFLINE": "1", "GD_CANARY": str(canary), "GD_CANARY_PORT": "9",
                           "GD_CANARY_DELETE": str(doomed), "GD_CANARY_DIR": str(folder)})
        out = Path(tmp) / "out"
        subprocess.run([sys.executable, "-m", "autograde.classroom.classgrade", "grade", str(subs), "--out", str(out),
                        "--jobs", "2", "--cell-timeout", str(CELL_TIMEOUT),
                        "--notebook-timeout", str(NOTEBOOK_TIMEOUT)],
                       cwd=ROOT, check=True, capture_output=True)
        course = nbg.make_course(Path(tmp) / "course")
        nbg.generate_release(course)
        for case in CASES:
            nbg.submit(course, case.name, {case.notebook: path_of(case)})
        nbg.autograde(course, check=False, options=(f"--Execute.timeout={CELL_TIMEOUT}",
                                                    f"--GradingExecute.notebook_timeout={NOTEBOOK_TIMEOUT}"))
        scores = nbg.gradebook_scores(course)
        for case in CASES:
            summary = json.loads((out / "students" / safe_name(case.name) / "summary.json").read_text("utf-8"))
            nb = next(n for n in summary["notebooks"] if n["notebook"] == case.notebook)
            failed = [c for c in nb["checks"] if c["status"] == "failed"]
            first = failed[0]["message"].splitlines()[-1][:110] if failed else "all checks passed"
            by_nbgrader = sum(scores.get(case.name, {}).get(c["grade_id"], 0) for c in nb["checks"])
            rows.append((case.name, case.notebook, nb["points"], by_nbgrader, nb["max_points"],
                         f"{failed[0]['grade_id']}: {first}" if failed else first, nb["seconds"]))
        canary_ok = (canary.read_text(encoding="utf-8") == "untouched" and doomed.exists()
                     and (folder / "bob.ipynb").exists())
    head = ("| case | notebook | pytest graders | nbgrader | what grading did (first failed check) | seconds |\n"
            "|---|---|---|---|---|---|")
    lines = [head] + [f"| {c} | {nb} | {p}/{m} | {q:g}/{m} | {what.replace('|', '/')} | {s:.0f} |"
                      for c, nb, p, q, m, what, s in rows]
    table = "\n".join(lines)
    footer = (f"\n{describe()}; canary files and folder outside the work folder "
              f"{'intact' if canary_ok else 'MODIFIED OR DELETED'} after grading by both front ends.")
    print(table + footer)
    if args.write:
        args.write.write_text(
            "# Broken and hostile submissions\n\n"
            "Written by `python bench/corpus_report.py --write docs/robustness.md`: both front ends\n"
            f"(hidden pytest graders with 2 jobs, and nbgrader autograde), {CELL_TIMEOUT} s per cell,\n"
            f"{NOTEBOOK_TIMEOUT} s per notebook; seconds are the pytest graders'. The expected points and report line of each\n"
            "case are in `tests/corpus.py` and checked by `tests/project/test_corpus.py`.\n\n" + table + "\n" + footer + "\n",
            encoding="utf-8")


if __name__ == "__main__":
    import published  # bench/published.py, beside this script

    published.run(main, __file__)
