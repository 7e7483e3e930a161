"""Grade one student's submission with the pytest graders, in a process of its own.

``grade_student`` stages a copy of the submission, runs ``python -m pytest autograde`` on it in a
cgroup of its own (``grader_process``: a memory ceiling, a time limit, killed with its parent) and
publishes the student's ``summary.json``, ``results.json`` (Gradescope's) and ``junit.xml``. The
class grader and the Gradescope autograder both grade this way.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from autograde import limits, settings
from autograde.assignment.registry import CHECKS
from autograde.assignment.submission import collect
from autograde.frontends.pytest import grader_process
from autograde.reports import gradescope_results

#: Where the graders are installed (the folder that holds the autograde package).
ROOT = Path(__file__).resolve().parents[3]


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


def grade_student(student: Student, out: Path, cell_timeout: int, notebook_timeout: int,
                  hide: tuple[Path, ...] = (), memory_mb: int | None = None, jobs: int = 1,
                  threads: int | None = None, submission_timeout: int = limits.SUBMISSION_TIMEOUT,
                  ceiling_mb: int | None = None) -> dict:
    """Grade one student in a fresh process and write their three result files; returns the summary.

    ``jobs``: the student's notebooks graded at once.
    ``threads``: TensorFlow's threads within an op in each kernel (default: the cores shared by ``jobs``).
    ``hide``: folders the student's sandboxed kernel must not see (the class, the results).
    ``memory_mb``: the kernels' address-space limit (default ``limits.MEMORY_MB``).
    ``submission_timeout``: seconds all the student's notebooks may take together (``autograde.grading.budget``).
    ``ceiling_mb``: memory the whole grading may use, grader and kernels (``autograde.frontends.pytest.grader_process``).
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
        own = settings.current()
        env = {**os.environ, **own.replace(hide=(*own.hide, *(p.resolve() for p in hide)),
                                           kernel_threads=threads or own.kernel_threads).to_env()}
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


#: Held while a student's results are replaced, and by whoever reads them all (``classgrade.write_csv``).
WRITE_LOCK = threading.Lock()


def publish(out: Path, student: Student, summary: dict, junit: bytes | None = None) -> None:
    """Replace one student's result files at once (summary, Gradescope results, JUnit).

    Writers and ``write_csv`` share a lock, so the class CSV never reads a half-written student.
    """
    dest = out / "students" / student.key
    staging = out / "students" / f".{student.key}.new"
    with WRITE_LOCK:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        (staging / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), "utf-8")
        (staging / "results.json").write_text(json.dumps(gradescope_results.results(summary), indent=2, ensure_ascii=False),
                                              "utf-8")
        if junit is not None:
            (staging / "junit.xml").write_bytes(junit)
        shutil.rmtree(dest, ignore_errors=True)
        staging.rename(dest)


def not_graded(student: Student, why: str) -> dict:
    return {"student": student.name, "points": 0, "max_points": sum(c.points for c in CHECKS),
            "status": "not graded", "error": why, "notebooks": []}


