"""Example submissions of every exercise, and the example class made of them.

Each exercise folder's ``examples.py`` lists its examples (the solution, the untouched
release, known mistakes, each with the points it deserves) and its part of the example
class. This module assembles them and writes the notebooks: ``python -m autograde.demo.examples``
writes ``tests/submissions/<notebook>/<name>.ipynb`` from the current release and source.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import nbformat

from autograde.assignment.check import Example
from autograde.assignment.notebook import answer_sources, nbgrader_meta
from autograde.assignment.registry import ROOT

ASSIGNMENT = "gd_applications"
OUT = ROOT / "tests" / "submissions"


def _modules():
    from autograde import exercises

    out = []
    for module in exercises.load():
        try:
            out.append(importlib.import_module(f"{module.__name__}.examples"))
        except ModuleNotFoundError:  # an exercise without examples
            continue
    return out


EXAMPLES: tuple[Example, ...] = tuple(ex for m in _modules() for ex in m.EXAMPLES)
#: The example class of the main job and of the agreement tests: per student, the example of each
#: notebook they submitted. Together they use every example.
CLASS: dict[str, tuple[str, ...]] = {}
NOTEBOOK_ORDER: tuple[str, ...] = tuple(m.NOTEBOOK for m in _modules() if getattr(m, "CLASS", None))
for _m in _modules():
    for _student, _name in getattr(_m, "CLASS", {}).items():
        CLASS[_student] = (*CLASS.get(_student, ()), _name)


def example(notebook: str, name: str) -> Example:
    return next(ex for ex in EXAMPLES if ex.notebook == notebook and ex.name == name)


def class_examples(student: str) -> list[Example]:
    """The examples a student of CLASS submitted, one per notebook."""
    return [example(nb, name) for nb, name in zip(NOTEBOOK_ORDER, CLASS[student], strict=True)]


def class_files(student: str) -> dict[str, Path]:
    return {ex.notebook: path_of(ex) for ex in class_examples(student)}


def class_points(student: str) -> dict[str, int]:
    """Points per grade_id that a student of CLASS deserves."""
    return {gid: pts for ex in class_examples(student) for gid, pts in ex.points.items()}


def solution_sources(notebook: str) -> dict[str, str]:
    """The source notebook's answer cells without solution markers, by grade_id."""
    return answer_sources(nbformat.read(ROOT / "source" / ASSIGNMENT / f"{notebook}.ipynb", as_version=4))


def build(example: Example, release: Path = ROOT / "release" / ASSIGNMENT) -> nbformat.NotebookNode:
    """The released notebook (from ``release``, the repository's by default) with the example's
    answers typed into its answer cells."""
    nb = nbformat.read(release / f"{example.notebook}.ipynb", as_version=4)
    if not example.solved:
        return nb
    answers = {**solution_sources(example.notebook),
               **{k: v.strip("\n") for k, v in example.answers.items()}}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and meta.get("grade_id") in answers:
            cell.source = answers[meta["grade_id"]]
        elif not meta and cell.get("id") in answers:
            cell.source = answers[cell["id"]]
    return nb


def path_of(example: Example) -> Path:
    return OUT / example.notebook / f"{example.name}.ipynb"


def write_all() -> list[Path]:
    paths = []
    for ex in EXAMPLES:
        path = path_of(ex)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(build(ex), path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write_all():
        print(p.relative_to(ROOT))
    sys.exit(0)
