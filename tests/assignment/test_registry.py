"""The notebooks' test cells and the registry of checks describe the same checks and points."""

from __future__ import annotations

import ast
import re

import nbformat

from autograde.assignment.notebook import check_id, nbgrader_meta
from autograde.assignment.registry import CHECKS, SOURCES


def grade_test_cells():
    for stem, path in SOURCES.items():
        for cell in nbformat.read(path, as_version=4).cells:
            if check_id(cell):
                yield stem, nbgrader_meta(cell), cell.source


def test_every_check_has_one_test_cell_with_the_same_points():
    cells = {meta["grade_id"]: (stem, meta["points"]) for stem, meta, _ in grade_test_cells()}
    expected = {c.grade_id: (c.notebook, c.points) for c in CHECKS}
    assert cells == expected


def test_test_cells_hold_only_the_visible_part_and_say_the_grader_judges():
    by_id = {c.grade_id: c for c in CHECKS}
    for _stem, meta, source in grade_test_cells():
        check = by_id[meta["grade_id"]]
        called = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)]
        assert bool(called) == check.visible, meta["grade_id"]
        assert "judge" in source.lower() and "outside your kernel" in source, meta["grade_id"]
        assert "HIDDEN TESTS" not in source and "autograde" not in source, meta["grade_id"]


def test_grade_ids_name_behaviours():
    for c in CHECKS:
        assert re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", c.grade_id) and not c.grade_id.startswith("cell")


def test_end_to_end_checks_follow_unit_checks_of_their_own_notebook_judged_before_them():
    by_id = {c.grade_id: c for c in CHECKS}
    position = {}  # grade_id of every cell -> its index in the source notebook
    for path in SOURCES.values():
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if nbgrader_meta(cell).get("grade_id"):
                position[nbgrader_meta(cell)["grade_id"]] = index
    for check in CHECKS:
        judged_at = position[check.judged_after or check.grade_id]
        for unit in check.follows:
            assert unit in by_id and by_id[unit].notebook == check.notebook, (check.grade_id, unit)
            assert not by_id[unit].follows, f"{unit} is itself end-to-end"
            assert position[unit] < judged_at, f"{unit} is judged after {check.grade_id}"
