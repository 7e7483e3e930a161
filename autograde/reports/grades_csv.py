"""The class's grades.csv: one row per student, every cell safe to open in a spreadsheet."""

from __future__ import annotations

from autograde.assignment.registry import CHECKS, NOTEBOOKS
from autograde.grading.inert import plain

CSV_HEAD = ["student", *NOTEBOOKS, "total", "max_points", "status", "problems"]


def cell(value):
    """A CSV cell that a spreadsheet shows as text: no formula from a student-chosen name, and no
    terminal escape for whoever prints the file (``inert.plain``)."""
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


