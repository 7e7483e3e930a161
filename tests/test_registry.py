"""The notebooks' test cells and the registry of checks describe the same checks and points."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

from autograde.registry import ASSIGNMENT, CHECKS

SOURCE = Path(__file__).resolve().parent.parent / "source" / ASSIGNMENT


def grade_test_cells():
    for path in sorted(SOURCE.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                yield path.stem, meta, cell.source


def test_every_check_has_one_test_cell_with_the_same_points():
    cells = {meta["grade_id"]: (stem, meta["points"]) for stem, meta, _ in grade_test_cells()}
    expected = {c.grade_id: (c.notebook, c.points) for c in CHECKS}
    assert cells == expected


def test_test_cells_call_the_registered_visible_and_hidden_checks():
    by_id = {c.grade_id: c for c in CHECKS}
    for _stem, meta, source in grade_test_cells():
        check = by_id[meta["grade_id"]]
        visible, _, rest = source.partition("### BEGIN HIDDEN TESTS")
        called = [node.func.attr for node in ast.walk(ast.parse(visible))
                  if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)]
        assert called == [f.__name__ for f in check.visible], meta["grade_id"]
        hidden = rest.partition("### END HIDDEN TESTS")[0]
        assert re.search(rf'run_hidden\("{check.grade_id}", globals\(\)\)', hidden), meta["grade_id"]


def test_grade_ids_name_behaviours():
    for c in CHECKS:
        assert re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", c.grade_id) and not c.grade_id.startswith("cell")
