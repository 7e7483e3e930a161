"""Machine-readable grading results: a JSON summary of every check and notebook."""

from __future__ import annotations

import json
from pathlib import Path

from autograde.assignment import diagnose, returned
from autograde.grading.runner import NotebookGrade


def _cause(message: str) -> str | None:
    found = diagnose.find(returned.unquoted(message or ""))  # a cause the grader named, not one the kernel wrote
    return found.id if found else None


def summary(student: str, grades: list[NotebookGrade]) -> dict:
    """The JSON-ready summary of one student's grades: points per check, notebook and total."""
    notebooks = []
    for g in grades:
        notebooks.append({
            "notebook": g.notebook,
            "path": str(g.path) if g.path else None,
            "problem": g.problem,
            "points": g.points,
            "max_points": sum(r.check.points for r in g.results),
            "seconds": round(g.seconds, 2),
            "peak_memory_mb": round(g.peak_memory_mb),
            "isolation": g.isolation,
            "kernel_started_ahead": g.kernel_started_ahead,
            "checks": [{
                "grade_id": r.check.grade_id,
                "points": r.points,
                "max_points": r.check.points,
                "status": "passed" if r.passed else "failed",
                "hidden_only": not r.check.visible,
                "description": r.check.description,
                "message": r.message,
                "cause": None if r.passed else _cause(r.message),
                "seconds": r.seconds,
            } for r in g.results],
        })
    return {
        "student": student,
        "points": sum(n["points"] for n in notebooks),
        "max_points": sum(n["max_points"] for n in notebooks),
        "notebooks": notebooks,
    }


def write_summary(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
