"""Find which notebook of a submission answers which exercise, and say what is wrong with the rest."""

from __future__ import annotations

import functools
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograde import limits
from autograde.assignment.registry import ASSIGNMENT, NOTEBOOKS, SOURCES

#: Submitted notebooks refused unread, by (student, assignment, notebook) as nbgrader names them:
#: what the grading session of each says instead of grading it (``nbgrader_fixes.BoundedExporter``).
_refused: dict[tuple[str, str, str], str] = {}


def refuse(key: tuple[str, str, str], why: str | None) -> None:
    """Record that the notebook ``key`` was not read, and why (None: it was read)."""
    if why is None:
        _refused.pop(key, None)
    else:
        _refused[key] = why


def refused(key: tuple[str, str, str]) -> str | None:
    """Why the notebook ``key`` was not read, or None: it was (or is not nbgrader's)."""
    return _refused.get(key)


def why_not_read(path: Path | int, name: str | None = None) -> str | None:
    """Why the notebook at ``path`` (or the file open as descriptor ``path``, called ``name``) is not
    read: not a regular file, over ``limits.NOTEBOOK_MAX_BYTES``, or holding more than
    ``limits.NOTEBOOK_MAX_ITEMS`` JSON objects and lists (what parsing it would build); or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK) if isinstance(path, Path) else path
    except OSError:
        return None  # missing or unreadable: reading it says why
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return (f"{name or path}: not a regular file (a device, a pipe or a folder); not read. "
                    "Fix: submit the notebook file itself.")
        if info.st_size > limits.NOTEBOOK_MAX_BYTES:
            return (f"{name or path}: {info.st_size / 2**20:.1f} MiB, over the {limits.NOTEBOOK_MAX_BYTES // 2**20} "
                    "MiB a notebook may take; not read. Fix: clear its outputs (Edit → Clear Outputs of All Cells), "
                    "save and submit again.")
        items = _json_items(fd, info.st_size)
        if items > limits.NOTEBOOK_MAX_ITEMS:
            return (f"{name or path}: {items:,} JSON objects and lists, over the {limits.NOTEBOOK_MAX_ITEMS:,} a "
                    "notebook may hold; not read. Fix: delete the cells you added and clear the outputs, save and "
                    "submit again.")
        return None
    finally:
        if isinstance(path, Path):
            os.close(fd)


def _json_items(fd: int, size: int, chunk: int = 2**20) -> int:
    """How many ``{`` and ``[`` the file open as ``fd`` holds (strings included), read without
    moving its offset."""
    count = 0
    for offset in range(0, size, chunk):
        data = os.pread(fd, chunk, offset)
        count += data.count(b"{") + data.count(b"[")
    return count


@dataclass
class Collected:
    """Exercise stem -> the file graded for it (missing files keep their expected path); report lines."""

    files: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    originals: dict[str, Path] = field(default_factory=dict)  # stem -> submitted file, when staged


@functools.lru_cache(maxsize=1)
def source_ids() -> dict[str, frozenset[str]]:
    """Every nbgrader grade_id of each source notebook (answers, given code and tests)."""
    out = {}
    for stem in NOTEBOOKS:
        nb = nbformat.read(SOURCES[stem], as_version=4)
        out[stem] = frozenset(c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                              if "grade_id" in c.get("metadata", {}).get("nbgrader", {}))
    return out


def identify(path: Path) -> tuple[str | None, str | None]:
    """``(stem, None)`` for a notebook of this assignment, else ``(None, why it is not)``.

    A readable notebook is recognised by the grade_ids of its cells, whatever its name;
    an unreadable one by its name only (the runner then reports why it cannot be read).
    """
    try:
        if why_not_read(path):
            raise ValueError("too big")
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, never raised
        if path.stem in NOTEBOOKS:
            return path.stem, None
        return None, f"{path.name}: not a readable notebook ({type(exc).__name__}); ignored"
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells} - {None}
    owners = {stem for stem, known in source_ids().items() if ids & known}
    if len(owners) == 1:
        return owners.pop(), None
    if path.stem in owners:
        return path.stem, None
    if not owners:
        return None, (f"{path.name}: none of its cells belong to {ASSIGNMENT} (a notebook of another "
                      "assignment, or one rebuilt without the released cells?); ignored")
    return None, f"{path.name}: mixes cells of {', '.join(sorted(owners))}; ignored"


def collect(files: list[Path], staged: Path | None = None, folder: Path | None = None) -> Collected:
    """Choose one file per exercise among ``files``; optionally copy each to ``staged/<stem>.ipynb``.

    Exact names win over renamed copies; duplicates, renamed, foreign and missing notebooks
    each add one report line naming the file.
    """
    out = Collected()
    found: dict[str, list[Path]] = {}
    for path in sorted(files):
        stem, why = identify(path)
        if stem is None:
            out.problems.append(why)
        else:
            found.setdefault(stem, []).append(path)
    for stem in NOTEBOOKS:
        candidates = found.get(stem, [])
        if not candidates:
            out.problems.append(f"{stem}.ipynb: missing; its checks score 0")
            base = folder or (files[0].parent if files else Path("."))
            out.files[stem] = base / f"{stem}.ipynb"
            continue
        chosen = next((p for p in candidates if p.stem == stem), candidates[0])
        if len(candidates) > 1:
            others = ", ".join(p.name for p in candidates if p != chosen)
            out.problems.append(f"{stem}.ipynb: {len(candidates)} notebooks answer it; graded "
                                f"{chosen.name}, not {others}")
        elif chosen.stem != stem:
            out.problems.append(f"{chosen.name}: renamed; graded as {stem}.ipynb")
        out.files[stem] = chosen
    if staged is not None:
        out.originals = dict(out.files)
        for stem, path in out.files.items():
            if path.is_symlink() or (path.exists() and not path.is_file()):  # a link could name anyone's file
                out.problems.append(f"{path}: a link or a special file, not a notebook; not read, its checks score "
                                    "0. Fix: submit the notebook file itself.")
            elif path.exists():
                shutil.copyfile(path, staged / f"{stem}.ipynb")
        out.files = {stem: staged / f"{stem}.ipynb" for stem in out.files}
    return out


def notebooks_of(submission: Path) -> Collected:
    """The notebooks to grade: a single notebook grades its exercise only; a folder, all of them."""
    if submission.is_file():
        stem, why = identify(submission)
        if stem is None:
            reason = why.split(": ", 1)[1].removesuffix("; ignored")
            raise ValueError(f"{submission}: {reason}. Fix: submit the released notebook.")
        renamed = [] if submission.stem == stem else [f"{submission.name}: renamed; graded as {stem}.ipynb"]
        return Collected({stem: submission}, renamed)
    if not submission.is_dir():
        raise ValueError(f"{submission}: no such file or folder. Fix: pass a notebook or a folder of them.")
    return collect([p for p in submission.glob("*.ipynb") if p.is_file()], folder=submission)
