"""The nbgrader side of a course folder: release, submissions, autograde, gradebook.

A course folder holds ``nbgrader_config.py``, ``source/`` and, once used, ``release/``,
``submitted/``, ``autograded/`` and ``gradebook.db``. The repository itself is one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from autograde.assignment.notebook import check_id
from autograde.assignment.registry import ASSIGNMENT
from autograde.assignment.registry import ROOT as COURSE

ROOT = Path(__file__).resolve().parents[3]


class NbgraderFailed(RuntimeError):
    """An nbgrader command exited non-zero; the message holds the end of its log."""


def make_course(dest: Path) -> Path:
    """A fresh course folder at ``dest`` with this repository's configuration and sources."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(COURSE / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(COURSE / "source", dest / "source", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints"))
    return dest


def nbgrader(course: Path, *args: str, on_line: Callable[[str], None] | None = None) -> str:
    """Run ``nbgrader ARGS`` in ``course`` (through ``autograde.frontends.nbgrader.cli``); returns its log,
    raises NbgraderFailed on failure.

    ``on_line`` sees every log line as it is written (for progress reports).
    """
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen([sys.executable, "-m", "autograde.frontends.nbgrader.cli", *args], cwd=course, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if on_line:
            on_line(line.rstrip("\n"))
    proc.wait()
    log = "".join(lines)
    if proc.returncode != 0:
        raise NbgraderFailed(f"nbgrader {' '.join(args)} failed in {course} "
                             f"(exit {proc.returncode}):\n{log[-3000:]}")
    return log


def generate_release(course: Path) -> Path:
    """``nbgrader generate_assignment``: writes ``release/<assignment>`` from ``source/``."""
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    return course / "release" / ASSIGNMENT


def submit(course: Path, student: str, notebooks: dict[str, Path]) -> Path:
    """Place a student's notebooks in ``submitted/<student>/<assignment>/`` as ``<stem>.ipynb``."""
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    for stem, path in notebooks.items():
        shutil.copy2(path, folder / f"{stem}.ipynb")
    return folder


def autograde(course: Path, student: str | None = None,
              on_line: Callable[[str], None] | None = None, options: tuple[str, ...] = (),
              check: bool = True) -> str:
    """``nbgrader autograde`` every submission (or one student's), re-grading from scratch.

    ``options`` are extra command-line options, e.g. ``("--Execute.timeout=20",)``. nbgrader
    exits non-zero when any student could not be graded (a dead kernel, say) after grading
    the others; ``check=False`` returns its log instead of raising.
    """
    extra = ["--student", student] if student else []
    try:
        return nbgrader(course, "autograde", ASSIGNMENT, "--force", *extra, *options, on_line=on_line)
    except NbgraderFailed as exc:
        if check:
            raise
        return str(exc)


def generate_feedback(course: Path) -> Path:
    """``nbgrader generate_feedback``: one HTML page per student and notebook under ``feedback/``."""
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    return course / "feedback"


def export_grades(course: Path, to: Path) -> Path:
    """``nbgrader export``: the gradebook as CSV (one row per student and assignment)."""
    nbgrader(course, "export", "--to", str(to))
    return to


def gradebook_scores(course: Path) -> dict[str, dict[str, float]]:
    """Points per student and grade_id, read from the course's SQLite gradebook."""
    from nbgrader.api import Gradebook

    out: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in gb.students:
            try:
                sub = gb.find_submission(ASSIGNMENT, student.id)
            except Exception:  # noqa: BLE001 - a student without a submission has no row
                continue
            scores = {}
            for nb in sub.notebooks:
                for grade in nb.grades:
                    scores[grade.name] = float(grade.score)
            out[student.id] = scores
    return out


def cell_reports(course: Path, student: str, notebook: str) -> dict[str, str]:
    """What each graded cell of a student's autograded notebook printed, per grade_id: its
    error outputs (name and message) and text output, joined; empty for a cell that passed
    silently. A notebook that was not autograded gives ``{}``."""
    import nbformat

    path = course / "autograded" / student / ASSIGNMENT / f"{notebook}.ipynb"
    if not path.exists():
        return {}
    out = {}
    for cell in nbformat.read(path, as_version=4).cells:
        grade_id = check_id(cell)
        if grade_id is None:
            continue
        parts = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                parts.append(f"{o.get('ename')}: {o.get('evalue')}")
            elif o.get("output_type") == "stream":
                parts.append(o.get("text", ""))
        out[grade_id] = "\n".join(parts)
    return out
