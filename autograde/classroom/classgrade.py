"""Grade a whole class with the hidden pytest graders: in parallel, sharded, with reports CI and LMSs read.

    python -m autograde.classroom.classgrade grade SUBMISSIONS --out DIR [--jobs N] [--shard I/N] [--student NAME ...]
    python -m autograde.classroom.classgrade merge DIR [DIR ...] --out DIR
    python -m autograde.classroom.classgrade list SUBMISSIONS

The console command ``gdgrade`` (``autograde/classroom/cli.py``) runs the same commands and ``report``.

SUBMISSIONS is nbgrader's ``submitted/`` folder (``<student>/gd_applications/*.ipynb``), a
folder of student folders holding notebooks, or a flat folder of notebooks named by student
(``alice.ipynb``; the exercise is recognised by its cells). For every student it writes
``DIR/students/<student>/`` with ``summary.json``, ``junit.xml`` and Gradescope's
``results.json``, then ``DIR/grades.csv`` for everyone graded into DIR so far and, once the run
or merge is done, the class report ``DIR/checks.csv`` and ``DIR/checks.png``
(``autograde.reports.class_report``).

Each student is graded by ``pytest autograde`` in a process, kernel and working folder of
its own, from a copy of the submission; a student whose grading breaks gets a
"not graded" row and the rest of the class is still graded. Re-running replaces that
student's results and nothing else.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import json
import os
import re
import shutil
import sys
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from autograde import limits, settings
from autograde.assignment.registry import ASSIGNMENT
from autograde.assignment.submission import collect, why_not_read
from autograde.classroom.arguments import (
    LAYOUTS,
    Parser,
    at_least_one,
    results_folder,
    submissions_folder,
    version,
)
from autograde.classroom.progress import ClassProgress, first_line
from autograde.frontends.pytest.student_run import (
    WRITE_LOCK,
    Student,
    grade_student,
    not_graded,
    publish,
)
from autograde.grading.inert import plain
from autograde.kernel.manager import SandboxUnavailable, require_sandbox
from autograde.kernel.resources import default_jobs, kernel_threads
from autograde.reports import class_report
from autograde.reports.grades_csv import CSV_HEAD, csv_row


def discover(root: Path) -> list[Student]:
    """Every student under ``root``, in nbgrader, folder-per-student or flat layout, sorted by name."""
    submissions_folder(root)
    students: dict[str, Student] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_dir():
            inner = entry / ASSIGNMENT if (entry / ASSIGNMENT).is_dir() else entry
            student = students.setdefault(entry.name, Student(entry.name))
            if entry.is_symlink() or inner.is_symlink():  # a link could name anyone's folder, or the solutions
                student.problems.append(f"{entry.name}: a link, not a folder of its own; not graded. "
                                        "Fix: put the student's own files there")
                continue
            for p in sorted(inner.glob("*.ipynb")):
                if p.is_symlink() or not p.is_file():
                    student.problems.append(f"{entry.name}/{p.name}: a link or special file, not a notebook; "
                                            "ignored. Fix: submit the notebook itself")
                else:
                    student.files.append(p)
            if not student.files:
                student.problems.append(f"{entry.name}: no notebooks in {inner}")
        elif entry.suffix == ".ipynb" and (entry.is_symlink() or not entry.is_file()):
            students.setdefault(entry.stem, Student(entry.stem)).problems.append(
                f"{entry.name}: a link or special file, not a notebook; ignored. Fix: submit the notebook itself")
        elif entry.suffix == ".ipynb":
            students.setdefault(entry.stem, Student(entry.stem)).files.append(entry)
    return sorted(students.values(), key=lambda s: s.name)


def strays(root: Path) -> list[str]:
    """The entries of ``root`` that ``discover`` ignores: neither a student's folder nor a notebook."""
    return [e.name for e in sorted(root.iterdir()) if not e.name.startswith(".") and e.name != "__pycache__"
            and not e.is_dir() and e.suffix != ".ipynb"]


def require_students(root: Path) -> list[Student]:
    """``discover(root)``, or a ``SystemExit`` saying where it looked and the layouts it expects."""
    students = discover(root)
    if students:
        return students
    ignored, where = strays(root), root if root.is_absolute() else f"{root} ({root.resolve()})"
    raise SystemExit(f"{where}: no students found ({'ignored: ' + ', '.join(ignored) if ignored else 'empty'}). "
                     f"Fix: pass the folder that holds the class's submissions: {LAYOUTS}.")


def shard(students: list[Student], spec: str | None, base: int = 1) -> list[Student]:
    """The I-th of N interleaved slices (``spec`` = "I/N", counted from ``base``); everyone when None.

    ``base`` 0 takes Kubernetes' ``JOB_COMPLETION_INDEX`` (0 to N-1) as it is.
    """
    if not spec:
        return students
    m = re.fullmatch(r"(\d+)/(\d+)", spec)
    if not m or not base <= int(m.group(1)) <= int(m.group(2)) - 1 + base:
        raise SystemExit(f"--shard {spec}: expected I/N with {base} <= I <= N{'' if base == 1 else ' - 1'}. "
                         f"Fix: e.g. --shard {base}/4" + ("" if base == 0 else "; with --shard-base 0, 0/4 to 3/4"))
    i, n = int(m.group(1)) - base, int(m.group(2))
    return [s for k, s in enumerate(students) if k % n == i]


def select(students: list[Student], names: list[str] | None, root: Path) -> list[Student]:
    """Only the students named (as listed by ``gdgrade list``); everyone when ``names`` is empty."""
    if not names:
        return students
    by_name = {unicodedata.normalize("NFC", s.name): s for s in students}
    by_name.update({s.key: s for s in students})
    wanted = [unicodedata.normalize("NFC", n) for n in names]
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        hints = [f"{n!r} (did you mean {', '.join(map(repr, close))}?)" if close else repr(n)
                 for n in unknown for close in [difflib.get_close_matches(n, list(by_name), n=2)]]
        raise SystemExit(f"--student {', '.join(hints)}: no such student in {root} ({len(students)} found). "
                         f"Fix: `gdgrade list {root}` (or `python -m autograde.classroom.classgrade list {root}`) "
                         "prints every student's name as --student takes it.")
    chosen = {id(by_name[n]) for n in wanted}
    return [s for s in students if id(s) in chosen]


class TailJobs:
    """Notebooks at once for each student as grading reaches them: one, while students wait for
    a job; at the end of the class, the jobs left idle go to the last students' notebooks."""

    def __init__(self, students: int, jobs: int):
        self.students, self.jobs, self.started = students, max(1, jobs), 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self.started += 1
            still_to_start = self.students - self.started
        return max(1, self.jobs // (still_to_start + 1))


def write_csv(out: Path) -> Path:
    """Rebuild ``out/grades.csv`` from every student's summary under ``out/students``."""
    with WRITE_LOCK:
        return _write_csv(out)


def _write_csv(out: Path) -> Path:
    rows = []
    for path in sorted((out / "students").glob("[!.]*/summary.json")):
        rows.append(csv_row(json.loads(path.read_text(encoding="utf-8"))))
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL)
    writer.writerow(CSV_HEAD)
    writer.writerows(sorted(rows, key=lambda r: r[0]))
    target = out / "grades.csv"
    tmp = target.with_suffix(".csv.tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    os.replace(tmp, target)
    return target


def grade(args) -> int:
    """Grade the chosen students; exit status 1 when none could be graded."""
    found = require_students(args.submissions)  # every argument is checked before any work
    results_folder(args.out, args.submissions)
    chosen = select(found, args.student, args.submissions)
    students = shard(chosen, args.shard, args.shard_base)
    if not students:
        raise SystemExit(f"--shard {args.shard}: no student in this slice of the {len(chosen)} chosen in "
                         f"{args.submissions}. Fix: use at most {len(chosen)} shards.")
    if args.allow_unsandboxed:
        settings.configure(allow_unsandboxed=True)
    try:
        isolation = require_sandbox()
    except SandboxUnavailable as exc:
        raise SystemExit(str(exc)) from None
    args.jobs = args.jobs or default_jobs()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    print(plain(f"grading {len(students)} students with {args.jobs} job(s)"
                + (f", shard {args.shard}" if args.shard else "")
                + (f", only {', '.join(s.name for s in students)}" if args.student else "")), flush=True)
    print(f"  {isolation}", flush=True)
    if strays(args.submissions):
        print(plain(f"  ignored in {args.submissions} (neither a student's folder nor a notebook): "
                    f"{', '.join(strays(args.submissions))}"), flush=True)
    tail = TailJobs(len(students), args.jobs)
    threads = kernel_threads(args.jobs)  # the class's kernels share the cores, however many are one student's
    with ClassProgress(len(students)) as show, ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        def run(s: Student) -> None:  # in a grading thread: its lines print when they happen
            show.started(s.name, [p.name for p in s.files])
            try:
                summary = grade_student(s, out, args.cell_timeout, args.notebook_timeout, (args.submissions, out),
                                        jobs=tail.next(), threads=threads, submission_timeout=args.submission_timeout)
            except Exception as exc:  # noqa: BLE001 - one student's failure never stops the class
                summary = not_graded(s, f"{type(exc).__name__}: {exc}")
                publish(out, s, summary)
            write_csv(out)
            show.ended(s.name, summary)

        list(pool.map(run, students))
    print(f"wrote {write_csv(out)}")
    write_report(out)
    print(show.summary(), flush=True)
    if not show.graded:
        print(f"nothing was graded: the grader failed for every student (see the problems column of "
              f"{out / 'grades.csv'})", flush=True)
        return 1
    return 0


def write_report(out: Path) -> None:
    """The class report beside grades.csv: per-check pass rates and most frequent mistakes."""
    with WRITE_LOCK:
        paths = class_report.write(out, class_report.from_summaries(out))
    print(f"wrote {', '.join(str(p) for p in paths)}")


def merge(args) -> int:
    """Join shard outputs: copy every student's folder into ``--out`` and rebuild grades.csv."""
    for part in args.parts:
        if not (part / "students").is_dir():
            raise SystemExit(f"{part / 'students'}: not found. Fix: pass the --out folders of "
                             "`gdgrade grade` (one per shard).")
    for part in args.parts:
        for folder in sorted((part / "students").glob("*")):
            dest = args.out / "students" / folder.name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(folder, dest)
    print(f"wrote {write_csv(args.out)}")
    write_report(args.out)
    return 0


def unreadable(path: Path) -> str | None:
    """Why grading cannot read the notebook at ``path`` (truncated, not JSON, not a notebook), or None."""
    if (why := why_not_read(path)) is not None:  # read once: it scans the file
        return why.split(": ", 1)[1]
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    except UnicodeDecodeError as exc:
        return f"not a notebook: not UTF-8 text (byte {exc.start})"
    fix = ". Fix: re-download the notebook from the release and copy your answers in"
    if not text.strip():
        return "empty file, not a notebook" + fix
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg.startswith("Unterminated string") or exc.pos >= len(text.rstrip()):
            return f"truncated: its JSON stops after {len(text.encode('utf-8'))} bytes, before the notebook ends" + fix
        if text.lstrip()[:1] != "{":
            return f"not JSON, so not a notebook (it starts with {text.lstrip()[:20]!r})" + fix
        return f"not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})" + fix
    if not isinstance(value, dict):
        return f"JSON, but not a notebook (a JSON {type(value).__name__}, where a notebook is an object)" + fix
    try:
        nbformat.reads(text, as_version=4)
    except Exception as exc:  # noqa: BLE001 - whatever nbformat refuses, grading refuses too
        return f"JSON, but not a notebook nbformat reads ({first_line(str(exc))})" + fix
    return None


def list_students(args) -> int:
    """Print every student found under SUBMISSIONS with their notebooks, each read as grading
    reads it: broken notebooks, problems of the folder and ignored entries are named."""
    students = require_students(args.submissions)
    broken = 0
    for s in students:
        reasons = {p: unreadable(p) for p in s.files}
        broken += sum(bool(r) for r in reasons.values())
        names = [p.name + (" (broken)" if reasons[p] else "") for p in s.files]
        problems = s.problems + [f"{p.name}: {r}" for p, r in reasons.items() if r]
        problems += [line for line in collect(s.files).problems  # what grading would say besides
                     if s.files and not any(line.startswith(f"{p.name}: ") for p, r in reasons.items() if r)]
        print(plain(f"{s.name}\t{', '.join(names) or 'no notebooks'}" + "".join(f"\n    ! {p}" for p in problems)))
    ignored = strays(args.submissions)
    if ignored:
        print(plain(f"ignored (neither a student's folder nor a notebook): {', '.join(ignored)}"))
    print(plain(f"{len(students)} students in {args.submissions}"
                + (f"; {broken} broken notebook(s)" if broken else "")
                + (f"; {len(ignored)} other {'entry' if len(ignored) == 1 else 'entries'} ignored" if ignored else "")))
    return 0


SECONDS = at_least_one("seconds")


def add_grade_arguments(g: argparse.ArgumentParser) -> None:
    g.add_argument("submissions", type=Path, metavar="SUBMITTED",
                   help=f"the class's submissions: {LAYOUTS}")
    g.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="results folder, created if missing, outside SUBMITTED (required)")
    g.add_argument("--jobs", type=at_least_one("students"), default=None, metavar="N",
                   help="students graded at once, 1 or more (default: one per core, as many as free memory "
                        f"holds at {limits.JOB_MEMORY_MB / 1024:g} GiB each; {default_jobs()} on this machine)")
    g.add_argument("--shard", metavar="I/N", help="grade only slice I of N, e.g. 2/4 (default: the whole class)")
    g.add_argument("--shard-base", type=int, choices=(0, 1), default=1,
                   help="number of the first slice: 1 (default) or 0, for Kubernetes' JOB_COMPLETION_INDEX")
    g.add_argument("--student", action="append", metavar="NAME",
                   help="grade only this student (repeatable; names as `list` prints them; default: everyone)")
    g.add_argument("--cell-timeout", type=SECONDS, default=limits.CELL_TIMEOUT, metavar="SECONDS",
                   help="seconds one cell (or one probe of a check) may run before it is interrupted "
                        "(default: %(default)s)")
    g.add_argument("--notebook-timeout", type=SECONDS, default=limits.NOTEBOOK_TIMEOUT, metavar="SECONDS",
                   help="seconds one notebook may run; then its kernel is killed and its unfinished checks "
                        "score 0 (default: %(default)s)")
    g.add_argument("--submission-timeout", type=SECONDS, default=limits.SUBMISSION_TIMEOUT, metavar="SECONDS",
                   help="seconds all the notebooks of one student may take together (default: %(default)s)")
    g.add_argument("--allow-unsandboxed", action="store_true",
                   help="grade even where bubblewrap cannot sandbox the kernels (not recommended; "
                        "default: refuse)")
    g.set_defaults(func=grade)


def add_merge_arguments(m: argparse.ArgumentParser) -> None:
    m.add_argument("parts", type=Path, nargs="+", metavar="DIR", help="results folders of the shards (--out of each)")
    m.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="folder for the merged results, created if missing (required)")
    m.set_defaults(func=merge)


def add_list_arguments(ls: argparse.ArgumentParser) -> None:
    ls.add_argument("submissions", type=Path, metavar="SUBMITTED", help=f"the class's submissions: {LAYOUTS}")
    ls.set_defaults(func=list_students)


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m autograde.classroom.classgrade",
                    description="Grade a class with the hidden pytest graders (also `gdgrade`).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_grade_arguments(sub.add_parser("grade", help="grade every submission under a folder"))
    add_merge_arguments(sub.add_parser("merge", help="join the outputs of several shards"))
    add_list_arguments(sub.add_parser("list", help="print the students found in a submissions folder"))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
