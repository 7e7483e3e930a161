"""Find which notebook of a submission is which exercise."""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograde.registry import CHECKS, NOTEBOOKS


def identify(path: Path) -> str | None:
    """The exercise stem of notebook ``path``: by its name, else by the grade_ids it holds."""
    if path.stem in NOTEBOOKS:
        return path.stem
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - unreadable files are reported by the runner
        return None
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells}
    owners = {c.notebook for c in CHECKS if c.grade_id in ids}
    return owners.pop() if len(owners) == 1 else None


def notebooks_of(submission: Path) -> dict[str, Path]:
    """Map each exercise stem to the file that answers it.

    A notebook file grades that exercise only; a folder is expected to hold every
    exercise as ``<stem>.ipynb`` (a renamed notebook is recognised by its cells).
    Missing exercises map to the path where they should have been.
    """
    if submission.is_file():
        stem = identify(submission)
        if stem is None:
            raise ValueError(
                f"{submission}: not a notebook of this assignment (none of its cells carry a "
                f"grade_id of {', '.join(NOTEBOOKS)}). Fix: submit the released notebook.")
        return {stem: submission}
    found: dict[str, Path] = {}
    for path in sorted(submission.glob("*.ipynb")):
        stem = identify(path)
        if stem and (stem not in found or path.stem == stem):
            found[stem] = path
    return {stem: found.get(stem, submission / f"{stem}.ipynb") for stem in NOTEBOOKS}
