"""Grade the corpus of broken and hostile submissions and print what grading did with each.

Usage: python bench/corpus_report.py [--write docs/robustness.md]
Runs tests/corpus.py's notebooks through the class grader (hidden pytest graders, 2 jobs,
20 s per cell) and prints one row per case: what the submission does, the points it got,
the report line of its first failed check, and the seconds it took.
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

from autograde.classgrade import safe_name  # noqa: E402
from autograde.sandbox import describe  # noqa: E402
from tests.corpus import CASES, CELL_TIMEOUT, path_of  # noqa: E402


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
        canary = Path(tmp) / "canary"
        canary.write_text("untouched", encoding="utf-8")
        env = {**os.environ, "GD_MNIST_OFFLINE": "1", "GD_CANARY": str(canary), "GD_CANARY_PORT": "9"}
        out = Path(tmp) / "out"
        subprocess.run([sys.executable, "-m", "autograde.classgrade", "grade", str(subs), "--out", str(out),
                        "--jobs", "2", "--cell-timeout", str(CELL_TIMEOUT)],
                       cwd=ROOT, check=True, capture_output=True, env=env)
        for case in CASES:
            summary = json.loads((out / "students" / safe_name(case.name) / "summary.json").read_text("utf-8"))
            nb = next(n for n in summary["notebooks"] if n["notebook"] == case.notebook)
            failed = [c for c in nb["checks"] if c["status"] == "failed"]
            first = failed[0]["message"].splitlines()[-1][:110] if failed else "all checks passed"
            rows.append((case.name, case.notebook, nb["points"], nb["max_points"],
                         f"{failed[0]['grade_id']}: {first}" if failed else first, nb["seconds"]))
        canary_ok = canary.read_text(encoding="utf-8") == "untouched"
    head = ("| case | notebook | points | what grading did (first failed check) | seconds |\n"
            "|---|---|---|---|---|")
    lines = [head] + [f"| {c} | {nb} | {p}/{m} | {what.replace('|', '/')} | {s:.0f} |"
                      for c, nb, p, m, what, s in rows]
    table = "\n".join(lines)
    footer = (f"\n{describe()}; canary file outside the work folder "
              f"{'intact' if canary_ok else 'MODIFIED'} after grading.")
    print(table + footer)
    if args.write:
        args.write.write_text(
            "# Broken and hostile submissions\n\n"
            "Written by `python bench/corpus_report.py --write docs/robustness.md` (hidden pytest graders,\n"
            "2 jobs, 20 s per cell). The expected points of each case under both front ends are in\n"
            "`tests/corpus.py` and checked by `tests/test_corpus.py`.\n\n" + table + "\n" + footer + "\n",
            encoding="utf-8")


if __name__ == "__main__":
    main()
