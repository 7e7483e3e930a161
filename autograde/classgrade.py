"""Grade a whole class with the hidden pytest graders: in parallel, sharded, with reports CI and LMSs read.

    python -m autograde.classgrade grade SUBMISSIONS --out DIR [--jobs N] [--shard I/N] [--student NAME ...]
    python -m autograde.classgrade merge DIR [DIR ...] --out DIR
    python -m autograde.classgrade list SUBMISSIONS

The console command ``gdgrade`` (``autograde/cli.py``) runs the same commands and ``report``.

SUBMISSIONS is nbgrader's ``submitted/`` folder (``<student>/gd_applications/*.ipynb``), a
folder of student folders holding notebooks, or a flat folder of notebooks named by student
(``alice.ipynb``; the exercise is recognised by its cells). For every student it writes
``DIR/students/<student>/`` with ``summary.json``, ``junit.xml`` and Gradescope's
``results.json``, then ``DIR/grades.csv`` for everyone graded into DIR so far and, once the run
or merge is done, the class report ``DIR/checks.csv`` and ``DIR/checks.png``
(``autograde.class_report``).

Each student is graded by ``pytest autograde`` in a process, kernel and working folder of
its own, from a copy of the submission; a student whose grading breaks gets a
"not graded" row and the rest of the class is still graded. Re-running replaces that
student's results and nothing else.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograde import class_report, grader_process, gradescope, limits
from autograde.arguments import LAYOUTS, Parser, at_least_one, results_folder, submissions_folder, version
from autograde.class_progress import ClassProgress, first_line
from autograde.inert import plain
from autograde.kernel_manager import SandboxUnavailable, require_sandbox
from autograde.registry import ASSIGNMENT, CHECKS, NOTEBOOKS
from autograde.resources import default_jobs, kernel_threads
from autograde.submission import collect, too_big

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Student:
    """One student's submission: where the notebooks are, and what is wrong with the folder."""

    name: str
    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return safe_name(self.name)


def safe_name(name: str) -> str:
    """A folder-safe, readable, unique-enough form of a student's name."""
    norm = unicodedata.normalize("NFKC", name).strip()
    clean = re.sub(r"[^\w.-]+", "_", norm, flags=re.UNICODE).strip("._") or "student"
    # a name that is not its own clean form gets a digest of itself, exactly as given: names that
    # look alike ("ａ_vic" and "a_vic", NFC and NFD) never share a results folder
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return clean if clean == name else f"{clean}-{digest}"


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
                         f"Fix: `gdgrade list {root}` (or `python -m autograde.classgrade list {root}`) "
                         "prints every student's name as --student takes it.")
    chosen = {id(by_name[n]) for n in wanted}
    return [s for s in students if id(s) in chosen]


def grade_student(student: Student, out: Path, cell_timeout: int, notebook_timeout: int,
                  hide: tuple[Path, ...] = (), memory_mb: int | None = None, jobs: int = 1,
                  threads: int | None = None, submission_timeout: int = limits.SUBMISSION_TIMEOUT,
                  ceiling_mb: int | None = None) -> dict:
    """Grade one student in a fresh process and write their three result files; returns the summary.

    ``jobs``: the student's notebooks graded at once.
    ``threads``: TensorFlow's threads within an op in each kernel (default: the cores shared by ``jobs``).
    ``hide``: folders the student's sandboxed kernel must not see (the class, the results).
    ``memory_mb``: the kernels' address-space limit (default ``limits.MEMORY_MB``).
    ``submission_timeout``: seconds all the student's notebooks may take together (``autograde.budget``).
    ``ceiling_mb``: memory the whole grading may use, grader and kernels (``autograde.grader_process``).
    """
    with tempfile.TemporaryDirectory(prefix="gdclass-") as tmp:
        staged = Path(tmp) / "submission"
        staged.mkdir()
        found = collect(student.files, staged)
        results = Path(tmp) / "results"
        cmd = [sys.executable, "-m", "pytest", str(ROOT / "autograde"), "--submission", str(staged),
               "--results-dir", str(results), "--student", student.name, "-q", "-p", "no:cacheprovider",
               "--cell-timeout", str(cell_timeout), "--notebook-timeout", str(notebook_timeout),
               "--submission-timeout", str(submission_timeout), "--jobs", str(jobs)]
        if memory_mb is not None:
            cmd += ["--memory-mb", str(memory_mb)]
        t = time.perf_counter()
        env = {**os.environ, "GD_GRADING_HIDE": os.pathsep.join(str(p.resolve()) for p in hide)}
        if threads:
            env["GD_GRADING_KERNEL_THREADS"] = str(threads)
        ended = grader_process.run(cmd, cwd=ROOT, env=env, timeout=submission_timeout + 300,
                                   memory_mb=ceiling_mb or grader_process.ceiling_mb(jobs, memory_mb))
        summary_path = results / "summary.json"
        if ended.why:
            summary = not_graded(student, ended.why)
        elif ended.returncode != 0 or not summary_path.exists():
            summary = not_graded(student, f"the grader failed (exit {ended.returncode}): {ended.tail[-1500:]}")
        else:
            text = summary_path.read_text(encoding="utf-8")
            for stem, original in found.originals.items():  # name the student's files, not copies
                text = text.replace(json.dumps(str(staged / f"{stem}.ipynb"))[1:-1],
                                    json.dumps(str(original))[1:-1])
            summary = json.loads(text)
        notebook_problems = [nb["problem"] for nb in summary.get("notebooks", [])
                             if nb.get("problem") and "file not found" not in nb["problem"]]  # said above
        summary["problems"] = student.problems + found.problems + notebook_problems
        summary["seconds"] = round(time.perf_counter() - t, 1)
        junit = results / "junit.xml"
        publish(out, student, summary, junit.read_bytes() if junit.exists() else None)
    return summary


_WRITE_LOCK = threading.Lock()


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


def publish(out: Path, student: Student, summary: dict, junit: bytes | None = None) -> None:
    """Replace one student's result files at once (summary, Gradescope results, JUnit).

    Writers and ``write_csv`` share a lock, so the class CSV never reads a half-written student.
    """
    dest = out / "students" / student.key
    staging = out / "students" / f".{student.key}.new"
    with _WRITE_LOCK:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        (staging / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), "utf-8")
        (staging / "results.json").write_text(json.dumps(gradescope.results(summary), indent=2, ensure_ascii=False),
                                              "utf-8")
        if junit is not None:
            (staging / "junit.xml").write_bytes(junit)
        shutil.rmtree(dest, ignore_errors=True)
        staging.rename(dest)


def not_graded(student: Student, why: str) -> dict:
    return {"student": student.name, "points": 0, "max_points": sum(c.points for c in CHECKS),
            "status": "not graded", "error": why, "notebooks": []}


CSV_HEAD = ["student", *NOTEBOOKS, "total", "max_points", "status", "problems"]


def cell(value):
    """A CSV cell that a spreadsheet shows as text: no formula from a student-chosen name, and no
    terminal escape for whoever prints the file (``inert.plain``)."""
    from autograde.inert import plain

    if isinstance(value, str):  # (every cell is also quoted: no separator, ',' ';' or tab, splits one)
        value = plain(value).replace("\t", " ").replace("\r", " ")
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def csv_row(summary: dict) -> list:
    per_nb = {nb["notebook"]: nb["points"] for nb in summary.get("notebooks", [])}
    status = summary.get("status") or ("graded with problems" if summary.get("problems") else "graded")
    return [cell(v) for v in [summary["student"], *[per_nb.get(stem, 0) for stem in NOTEBOOKS], summary.get("points", 0),
            summary.get("max_points", sum(c.points for c in CHECKS)), status,
            " | ".join(summary.get("problems", []) + ([summary["error"]] if summary.get("error") else []))]]


def write_csv(out: Path) -> Path:
    """Rebuild ``out/grades.csv`` from every student's summary under ``out/students``."""
    with _WRITE_LOCK:
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
        os.environ[limits.ENV_PREFIX + "ALLOW_UNSANDBOXED"] = "1"
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
    with _WRITE_LOCK:
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
    if (why := too_big(path)) is not None:  # read once: it scans the file
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
    parser = Parser(prog="python -m autograde.classgrade",
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
