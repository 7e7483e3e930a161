"""The Gradescope front end: grade one upload in Gradescope's container, write its results.json.

    python -m autograde.frontends.gradescope run [--submission /autograder/submission] [--results /autograder/results]
    python -m autograde.frontends.gradescope selftest     # at build time: grade the solutions, fill the caches

The results' format is ``autograde.reports.gradescope_results``. ``run`` grades a Gradescope submission folder (notebooks
anywhere below it) with the hidden pytest graders and writes ``results.json`` last, replacing
whatever is there and reading nothing the student's kernel could have written.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from autograde import limits, settings
from autograde.kernel.resources import default_jobs
from autograde.reports.gradescope_results import results, write_results

#: Memory a Gradescope container needs to grade (MiB). Measured (docs/instructors/gradescope.md):
#: the grader and a kernel peak at 1.3 GB resident, but a kernel maps up to 2.5 GB of address
#: space (TensorFlow), and its address-space limit is at most the container's memory.
MIN_CONTAINER_MB = 3072
#: Folders of an upload that hold no submission (editor and archive leftovers).
SKIPPED_FOLDERS = {".ipynb_checkpoints", "__MACOSX", "__pycache__", ".git"}


def find_notebooks(folder: Path) -> tuple[list[Path], list[str]]:
    """Every notebook under ``folder`` (subfolders included), and a line for each file skipped."""
    files, problems = [], []
    if not folder.is_dir():
        return files, [f"{folder}: no submission folder. Fix: upload the notebooks themselves."]
    for path in sorted(folder.rglob("*.ipynb")):
        rel = path.relative_to(folder)
        if any(part in SKIPPED_FOLDERS or part.startswith(".") for part in rel.parts):
            continue
        if path.is_symlink() or not path.is_file():
            problems.append(f"{rel}: a link or special file, not a notebook; ignored. Fix: upload the notebook itself")
        else:
            files.append(path)
    if not files:
        from autograde.assignment.registry import NOTEBOOKS

        problems.append(f"no notebooks (.ipynb) in the upload. Fix: upload {', '.join(f'{s}.ipynb' for s in NOTEBOOKS)}")
    return files, problems


def container_memory_mb() -> int | None:
    """The memory this container may use (cgroup v2 or v1 limit, else the machine's), MiB; None if unknown."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text) // 2**20
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


def kernel_memory_mb(container_mb: int | None) -> int:
    """The kernel's address-space limit: the grader's default, never more than the container has."""
    return limits.MEMORY_MB if container_mb is None else min(limits.MEMORY_MB, container_mb)


def grade_upload(submission: Path, hide: tuple[Path, ...], cell_timeout: int, notebook_timeout: int) -> dict:
    """The summary of one Gradescope upload graded by the hidden pytest graders (``not graded`` on failure)."""
    from autograde.frontends.pytest.student_run import Student, grade_student, not_graded

    student = Student("submission")
    container = container_memory_mb()
    if container is not None and container < MIN_CONTAINER_MB:
        return not_graded(student, f"the container has {container} MiB of memory; grading needs at least "
                                   f"{MIN_CONTAINER_MB} MiB. Fix: raise the autograder's memory in Gradescope "
                                   "(Configure Autograder → settings), then regrade all submissions.")
    student.files, student.problems = find_notebooks(submission)
    with tempfile.TemporaryDirectory(prefix="gdgs-") as out:
        try:
            return grade_student(student, Path(out), cell_timeout, notebook_timeout, hide=hide,
                                 memory_mb=kernel_memory_mb(container), jobs=default_jobs())
        except Exception as exc:  # noqa: BLE001 - any failure becomes a staff-only report, never a crash
            return not_graded(student, f"{type(exc).__name__}: {exc}")


def isolation_line() -> str:
    """Allow unsandboxed grading where bubblewrap cannot run (a Gradescope container); the log line."""
    from autograde.kernel.manager import require_sandbox
    from autograde.kernel.sandbox import probe

    if not probe()[0]:
        settings.configure(allow_unsandboxed=True)
    return require_sandbox(allowed=True)


def run(args) -> int:
    """Grade ``args.submission`` and write ``args.results/results.json`` (exit 0 unless it cannot be written)."""
    t0 = time.perf_counter()
    print(isolation_line(), flush=True)
    hide = tuple(p for p in (Path("/autograder"), args.submission, args.results) if p.exists())
    summary = grade_upload(args.submission, hide, args.cell_timeout, args.notebook_timeout)
    if summary.get("error"):
        print(f"grading failed: {summary['error']}", flush=True)
    data = results(summary, time.perf_counter() - t0)
    # written only now: the kernels are gone, and whatever they left in the folder is replaced
    target = write_results(args.results, data)
    print(f"{summary.get('points', 0)}/{summary.get('max_points', 0)} points; wrote {target}", flush=True)
    return 0


def selftest(args) -> int:
    """Grade the solution notebooks (fills the reference-run cache); non-zero unless every point is earned."""
    from autograde.assignment.registry import SOURCE

    print(isolation_line(), flush=True)
    summary = grade_upload(SOURCE, (), args.cell_timeout, args.notebook_timeout)
    data = results(summary)
    print(json.dumps({k: data[k] for k in ("score", "output")}, ensure_ascii=False), flush=True)
    if summary.get("error") or summary["points"] != summary["max_points"]:
        failed = [t["name"] for t in data["tests"] if t["score"] != t["max_score"]]
        print(f"self-test failed: the solutions earn {summary['points']}/{summary['max_points']} "
              f"({', '.join(failed)}): {summary.get('error', '')}", file=sys.stderr)
        return 1
    print(f"self-test passed: {summary['points']}/{summary['max_points']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograde.frontends.gradescope",
                                     description="Grade on Gradescope with the hidden pytest graders.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, helptext in (("run", run, "grade the upload and write results.json"),
                                 ("selftest", selftest, "grade the solutions (fills the caches)")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--cell-timeout", type=int, default=limits.CELL_TIMEOUT)
        p.add_argument("--notebook-timeout", type=int, default=limits.NOTEBOOK_TIMEOUT)
        p.set_defaults(func=func)
        if name == "run":
            p.add_argument("--submission", type=Path, default=Path("/autograder/submission"))
            p.add_argument("--results", type=Path, default=Path("/autograder/results"))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
