"""The instructor's main job on the bundled example class, end to end with nbgrader.

    python -m autograde.demo.main_job [--course DIR]

1. ``nbgrader generate_assignment``: ``release/`` from ``source/``;
2. the example class (``autograde/demo/examples.py``, from the exercise folders: the solution, the untouched release and typical
   mistakes across all three notebooks) placed in ``submitted/<student>/gd_applications/``;
3. ``nbgrader autograde`` into the SQLite gradebook ``gradebook.db``, with a progress line per
   student and notebook;
4. ``nbgrader generate_feedback`` (HTML under ``feedback/``) and ``nbgrader export`` (``grades.csv``),
   then the class report beside it (``checks.csv``, ``checks.png``: ``autograde.reports.class_report``);
5. a table of students, points per notebook and total.

The course folder defaults to the repository itself, as an instructor would use it (an installed
package asks for ``--course DIR``). Where no sandbox can be had, the example class, and only it, is
graded without one, saying so. A failed step stops the job with one line naming it and its log
(``main-job.log`` in the course folder); the counts printed are of notebooks nbgrader autograded.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from pathlib import Path

from autograde.assignment.registry import ASSIGNMENT, CHECKS, NOTEBOOKS, ROOT
from autograde.frontends.nbgrader import course as nbg
from autograde.reports import class_report

#: Whether this is a checkout (or an editable install), whose course folder is the repository.
CHECKOUT = ROOT == Path(__file__).resolve().parents[2]


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
    """A log-line callback that prints "[k/total] student / notebook" when nbgrader starts one, and
    each error message nbgrader logs once."""
    seen: set[tuple[str, str]] = set()
    errors: set[str] = set()

    def on_line(line: str) -> None:
        m = _PROGRESS.search(line)
        if m and ("Sanitizing" in line or "Converting notebook" in line) and m.groups() not in seen:
            seen.add(m.groups())
            print(f"      [{len(seen)}/{total}] grading {m.group(1)} / {m.group(2)}", flush=True)
        elif "ERROR" in line:  # once per message: not once per student and notebook
            message = re.sub(r"^\[[^]]*\]\s*", "", line).strip()
            if message not in errors:
                errors.add(message)
                print(f"      ! {message[:300]}", flush=True)

    return on_line


class StepFailed(RuntimeError):
    """A step of the main job failed: the message says which and where its log is."""


def last_error(log: str) -> str:
    """The line of an nbgrader log that says what went wrong, for a one-line report: its last
    exception (``FileNotFoundError: ...``), else its last ERROR line, else its last line."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    raised = [ln for ln in lines if re.match(r"(?:[\w.]+\.)?\w*(?:Error|Exception|Unavailable|Failed|Exit)\b:", ln)]
    errors = [ln for ln in lines if re.search(r"\bERROR\b", ln)]
    return (raised or errors or lines or ["(no output)"])[-1][:300]


def run_step(name: str, log_file: Path, step, *args, **kwargs):
    """``step(*args, **kwargs)``; an nbgrader failure becomes ``StepFailed`` naming the step, the
    last error line and ``log_file``, where the whole message is written."""
    try:
        return step(*args, **kwargs)
    except nbg.NbgraderFailed as exc:
        log_file.write_text(str(exc), encoding="utf-8")
        raise StepFailed(f"{name} failed: {last_error(str(exc))} (its log: {log_file})") from None


def sandbox_options() -> tuple[tuple[str, ...], str | None]:
    """nbgrader options for the example class, and the line to print when it is graded without a
    sandbox: only where none can be had here (``sandbox.probe``). The class is this course's own
    notebooks; submissions of students are graded sandboxed or not at all (gdgrade, nbgrader's
    own configuration and Gradescope keep refusing)."""
    from autograde.kernel import sandbox

    ok, reason = sandbox.probe()
    if ok:
        return (), None
    return (("--GradingKernelManager.allow_unsandboxed=True",),
            f"no sandbox can be had here ({reason}): the example class, this course's own notebooks, "
            "is graded without one; real submissions are still refused without a sandbox")


def graded_students(course: Path, students: dict[str, int]) -> list[str]:
    """The students (of ``students``: name -> notebooks submitted) whose every notebook nbgrader
    autograded in this run."""
    out = []
    for student, count in students.items():
        folder = course / "autograded" / student / ASSIGNMENT
        if folder.is_dir() and len(list(folder.glob("*.ipynb"))) == count:
            out.append(student)
    return out


def clear_autograded(course: Path, students) -> None:
    """Remove these students' autograded folders, so that what is there afterwards is this run's."""
    for student in students:
        folder = course / "autograded" / student
        if folder.is_dir():
            for path in [folder, *folder.rglob("*")]:
                if path.is_dir():
                    path.chmod(0o755)
            shutil.rmtree(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Release, autograde and tabulate the example class.")
    parser.add_argument("--course", type=Path, default=None,
                        help="course folder, created if missing (default: the repository, in a checkout)")
    args = parser.parse_args(argv)
    if args.course is None and not CHECKOUT:
        parser.error("this autograde is installed, not a checkout: pass --course DIR (a folder to create "
                     "the course in)")
    try:
        return run(args.course.resolve() if args.course else ROOT)
    except StepFailed as exc:
        print(f"main job stopped: {exc}", file=sys.stderr, flush=True)
        return 1


def run(course: Path) -> int:
    """The five steps on ``course``; 0 when every student was graded, 1 when some could not be."""
    from autograde.demo.examples import CLASS, class_files

    if course != ROOT:
        nbg.make_course(course)
    log_file = course / "main-job.log"
    t0 = time.perf_counter()
    print(f"[1/5] nbgrader generate_assignment -> {course / 'release'}", flush=True)
    run_step("nbgrader generate_assignment", log_file, nbg.generate_release, course)
    print(f"[2/5] submitting the example class: {', '.join(CLASS)}", flush=True)
    submitted = {}
    for student in CLASS:
        files = class_files(student)
        nbg.submit(course, student, files)
        submitted[student] = len(files)
    options, unsandboxed = sandbox_options()
    print("[3/5] nbgrader autograde -> gradebook.db", flush=True)
    if unsandboxed:
        print(f"      ! {unsandboxed}", flush=True)
    clear_autograded(course, CLASS)
    started = time.perf_counter()
    try:
        nbg.autograde(course, on_line=progress_printer(sum(submitted.values())), options=options)
        failure = None
    except nbg.NbgraderFailed as exc:  # grades already saved stay in the gradebook
        log_file.write_text(str(exc), encoding="utf-8")
        failure = last_error(str(exc))
    graded = graded_students(course, submitted)
    print(f"      graded {len(graded)} of {len(CLASS)} students in {time.perf_counter() - started:.0f} s",
          flush=True)
    if not graded:
        raise StepFailed(f"nbgrader autograde graded no student: {failure or 'no notebook was autograded'} "
                         f"(its log: {log_file})")
    print("[4/5] nbgrader generate_feedback -> feedback/, nbgrader export -> grades.csv, "
          "class report -> checks.csv, checks.png", flush=True)
    run_step("nbgrader generate_feedback", log_file, nbg.generate_feedback, course)
    run_step("nbgrader export", log_file, nbg.export_grades, course, course / "grades.csv")
    class_report.write(course, class_report.from_nbgrader(course))
    print("[5/5] grades\n", flush=True)
    print(grade_table({s: v for s, v in nbg.gradebook_scores(course).items() if s in graded}))
    missing = [s for s in CLASS if s not in graded]
    if missing:
        print(f"\nnot graded: {', '.join(missing)}: {failure or 'nbgrader wrote no autograded notebook'} "
              f"(nbgrader's log: {log_file})", file=sys.stderr)
    print(f"\ndone in {time.perf_counter() - t0:.0f} s")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
