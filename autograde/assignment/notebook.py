"""nbgrader's cell metadata, read in one place: which cells are tests, answers or given code."""

from __future__ import annotations

import re

_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.M)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def check_id(cell) -> str | None:
    """The grade_id of a test cell (a graded code cell that is not an answer), else None."""
    meta = nbgrader_meta(cell)
    if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
        return meta.get("grade_id")
    return None


def is_test_cell(cell) -> bool:
    return check_id(cell) is not None


def is_given_cell(cell) -> bool:
    """A read-only cell that is not a test (given code or text): restored from the source when grading."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("locked")) and not meta.get("grade") and not meta.get("solution")


def cell_key(cell) -> str | None:
    """What identifies a cell across source, release and submission: its grade_id, else its cell id."""
    return nbgrader_meta(cell).get("grade_id") or cell.get("id")


def restore_at(source_keys: list, present: list, key) -> int:
    """Where to put back the source cell ``key`` that a submission lacks: right after the nearest
    source cell before it that is still present (``present``: the keys of the submission's cells,
    in order); at the top when there is none."""
    earlier = source_keys[:source_keys.index(key)]
    before = [k for k in earlier if k is not None and k in present]
    return present.index(before[-1]) + 1 if before else 0


def answer_sources(nb) -> dict[str, str]:
    """A source notebook's answer cells without the solution markers, by grade_id."""
    return {nbgrader_meta(c)["grade_id"]: _MARKERS.sub("", c.source)
            for c in nb.cells if nbgrader_meta(c).get("solution")}


def answer_namespace(nb, setup: str = "", replace: dict[str, str] | None = None) -> dict:
    """The namespace a notebook's answer cells define, after ``setup`` (e.g. imports), with the
    answers of ``replace`` (by grade_id) instead of the notebook's. Answer cells that compute with
    the notebook's data (they raise NameError, or NotImplementedError as a stub) are skipped."""
    answers = answer_sources(nb)
    answers.update({k: v for k, v in (replace or {}).items() if k in answers})
    ns: dict = {}
    exec(setup, ns)
    for source in answers.values():
        try:
            exec(source, ns)
        except (NameError, NotImplementedError):
            continue
    return ns
