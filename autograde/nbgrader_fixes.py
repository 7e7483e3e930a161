"""Restoring deleted cells under nbgrader 0.9.6, used through nbgrader_config.py.

- ``OverwriteCells.add_missing_grade_cells`` puts a deleted grade cell after the source cell
  that precedes it, but only looks that cell up among grade and solution cells: when it is a
  read-only cell (given code, as in these notebooks), nbgrader stops with ``KeyError`` and the
  student's notebook is not graded at all. Here the cell goes after the nearest preceding
  source cell present in the submission, read-only cells included.
- nbgrader restores the code of read-only (given) cells a student edited, but not of those a
  student deleted: they are put back here the same way, so that the given code always runs
  (a student's extra cells still run too).
"""

from __future__ import annotations

import nbformat
from nbgrader.nbgraderformat import SCHEMA_VERSION
from nbgrader.preprocessors import OverwriteCells


class RestoreDeletedCells(OverwriteCells):
    """nbgrader's OverwriteCells, with deleted grade cells and given cells put back after a known neighbour."""

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_cells = source_nb.source_cells
        source_ids = [cell.name for cell in source_cells]
        solution_ids = {cell.name for cell in source_nb.solution_cells}
        grade_ids = {cell.name for cell in source_nb.grade_cells}
        for grade_cell in source_nb.grade_cells:
            if grade_cell.name in self._present(nb):
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", grade_cell.name)
            index = source_ids.index(grade_cell.name)
            cell = self.missing_cell_transform(source_cells[index], grade_cell.max_score,
                                               is_solution=grade_cell.name in solution_ids)
            self._insert(nb, cell, source_ids[:index])
        for index, source_cell in enumerate(source_cells):
            given = source_cell.locked and source_cell.name not in grade_ids | solution_ids
            if not given or source_cell.name in self._present(nb):
                continue
            self.log.warning("Missing read-only cell %s encountered, adding to notebook", source_cell.name)
            self._insert(nb, self._given_cell(source_cell), source_ids[:index])
        return nb, resources

    @staticmethod
    def _present(nb) -> list:
        return [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells]

    def _insert(self, nb, cell, earlier_ids: list[str]) -> None:
        present = self._present(nb)
        before = [sid for sid in earlier_ids if sid in present]
        position = present.index(before[-1]) + 1 if before else 0
        nb.cells.insert(position, cell)

    @staticmethod
    def _given_cell(source_cell):
        meta = {"deletable": False, "editable": False,
                "nbgrader": {"grade": False, "solution": False, "locked": True, "grade_id": source_cell.name,
                             "checksum": source_cell.checksum, "cell_type": source_cell.cell_type,
                             "schema_version": SCHEMA_VERSION}}
        if source_cell.cell_type == "code":
            return nbformat.v4.new_code_cell(source_cell.source, metadata=meta)
        return nbformat.v4.new_markdown_cell(source_cell.source, metadata=meta)
