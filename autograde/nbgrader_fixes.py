"""A fix for nbgrader 0.9.6's restoring of deleted test cells, used through nbgrader_config.py.

``OverwriteCells.add_missing_grade_cells`` puts a deleted grade cell after the source cell
that precedes it, but only looks that cell up among grade and solution cells: when it is a
read-only cell (given code, as in these notebooks), nbgrader stops with ``KeyError`` and the
student's notebook is not graded at all. This subclass places the cell after the nearest
preceding source cell present in the submission, read-only cells included.
"""

from __future__ import annotations

from nbgrader.preprocessors import OverwriteCells


class RestoreDeletedCells(OverwriteCells):
    """nbgrader's OverwriteCells, with deleted grade cells restored after any known neighbour."""

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_cells = source_nb.source_cells
        source_ids = [cell.name for cell in source_cells]
        solution_ids = {cell.name for cell in source_nb.solution_cells}
        for grade_cell in source_nb.grade_cells:
            present = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells]
            if grade_cell.name in present:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", grade_cell.name)
            index = source_ids.index(grade_cell.name)
            cell = self.missing_cell_transform(source_cells[index], grade_cell.max_score,
                                               is_solution=grade_cell.name in solution_ids)
            before = [sid for sid in source_ids[:index] if sid in present]
            position = present.index(before[-1]) + 1 if before else 0
            nb.cells.insert(position, cell)
        return nb, resources
