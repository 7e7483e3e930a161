"""The release is what nbgrader makes from source/, leaks nothing, and carries no outputs."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from autograde.assignment.registry import ASSIGNMENT
from tests.examples import EXAMPLES, build, path_of

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "release" / ASSIGNMENT
SOURCE = ROOT / "source" / ASSIGNMENT


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}


@pytest.mark.slow
def test_release_equals_what_nbgrader_generates_from_source(course):
    generated = files_under(course / "release" / ASSIGNMENT)
    committed = files_under(RELEASE)
    assert sorted(committed) == sorted(generated), "release/ has different files: run `make release`"
    stale = [name for name in generated if generated[name] != committed[name]]
    assert not stale, f"release/ is out of date for {stale}: run `make release` and commit"


def solution_lines() -> set[str]:
    """Every non-trivial line written only between BEGIN and END SOLUTION in the source notebooks."""
    solution, given = set(), set()
    pattern = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
    for path in SOURCE.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            for block in pattern.findall(cell.source):
                solution |= {ln.strip() for ln in block.splitlines() if len(ln.strip()) > 12}
            given |= {ln.strip() for ln in pattern.sub("", cell.source).splitlines()}
    return solution - given  # starter code such as `self.wait = 0` in __init__ is not a leak


def test_release_leaks_no_solution_hidden_test_or_grader():
    text = "\n".join(p.read_text(encoding="utf-8") for p in RELEASE.rglob("*")
                     if p.is_file() and p.suffix in {".ipynb", ".py", ".md", ".txt"})
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "autograde", "run_hidden"):
        assert marker not in text, f"release/ contains {marker!r}"
    code = "\n".join(c.source for p in RELEASE.glob("*.ipynb")
                     for c in nbformat.read(p, as_version=4).cells if c.cell_type == "code")
    code += "\n".join(p.read_text(encoding="utf-8") for p in RELEASE.rglob("*.py"))
    leaked = [ln for ln in solution_lines() if ln in code]  # the prose may name the API it teaches
    assert not leaked, f"solution code appears in release/: {leaked}"


@pytest.mark.parametrize("folder", ["source", "release"])
def test_notebooks_are_committed_without_outputs(folder):
    for path in (ROOT / folder).rglob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path} carries outputs"


def test_example_submissions_match_what_the_spec_writes():
    for ex in EXAMPLES:
        assert nbformat.read(path_of(ex), as_version=4) == build(ex), (
            f"{path_of(ex)} is stale: run `python -m tests.examples`")
