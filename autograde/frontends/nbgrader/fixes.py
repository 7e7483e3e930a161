"""Reading and restoring submitted notebooks under nbgrader 0.9.6, used through nbgrader_config.py.

- ``BoundedExporter`` (``Autograde.exporter_class``): a submitted notebook over
  ``limits.NOTEBOOK_MAX_BYTES`` is not parsed; nbgrader grades an empty notebook in its place
  (its test cells restored below), and the grading session fails every check saying why, without
  starting a kernel (``autograde.assignment.submission.refused``).

- ``OverwriteCells.add_missing_grade_cells`` puts a deleted grade cell after the source cell
  that precedes it, but only looks that cell up among grade and solution cells: when it is a
  read-only cell (given code, as in these notebooks), nbgrader stops with ``KeyError`` and the
  student's notebook is not graded at all. Here the cell goes after the nearest preceding
  source cell present in the submission, read-only cells included.
- nbgrader restores the code of read-only (given) cells a student edited, but not of those a
  student deleted: they are put back here the same way, so that the given code always runs
  (a student's extra cells still run too).
Neighbours are found among all cells of the source notebook (by grade_id, else by cell id), so
a deleted cell goes back after untracked cells too, such as a student's settings cell.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbgrader.coursedir import CourseDirectory
from nbgrader.nbgraderformat import SCHEMA_VERSION
from nbgrader.preprocessors import OverwriteCells

from autograde.assignment import submission
from autograde.assignment.notebook import cell_key, restore_at


class BoundedExporter(NotebookExporter):
    """nbgrader's notebook exporter, which reads no notebook over ``limits.NOTEBOOK_MAX_BYTES``."""

    def from_file(self, file_stream, resources=None, **kw):
        meta = (resources or {}).get("nbgrader") or {}
        key = (meta.get("student"), meta.get("assignment"), meta.get("notebook"))
        name = getattr(file_stream, "name", None)
        why = submission.why_not_read(file_stream.fileno(), name)
        if "student" in meta and (why is not None or not self._autograded_copy(name, key)):
            submission.refuse(key, why)  # a refusal holds; only the submitted file itself clears one
        if why is None:
            return super().from_file(file_stream, resources=resources, **kw)
        self.log.error("%s", why)
        stand_in = nbformat.v4.new_notebook()
        stand_in.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        return self.from_notebook_node(stand_in, resources=resources, **kw)

    def _autograded_copy(self, name: str | None, key: tuple) -> bool:
        """Whether ``name`` is nbgrader's sanitized copy (in ``autograded/``), not the submission."""
        coursedir = getattr(self.parent, "coursedir", None)
        if name is None or coursedir is None:
            return False
        student, assignment, _ = key
        folder = coursedir.format_path(coursedir.autograded_directory, student, assignment)
        return Path(name).resolve().parent == Path(folder).resolve()


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
            self._insert(nb, cell, grade_cell.name, source_ids)
        for source_cell in source_cells:
            given = source_cell.locked and source_cell.name not in grade_ids | solution_ids
            if not given or source_cell.name in self._present(nb):
                continue
            self.log.warning("Missing read-only cell %s encountered, adding to notebook", source_cell.name)
            self._insert(nb, self._given_cell(source_cell), source_cell.name, source_ids)
        return nb, resources

    @staticmethod
    def _present(nb) -> list:
        return [cell_key(c) for c in nb.cells]

    def _source_order(self, fallback: list[str]) -> list:
        """Every cell of the source notebook (grade_id, else cell id): nbgrader's gradebook knows only
        its own cells, but a given cell must go back after e.g. a student's settings cell."""
        coursedir = CourseDirectory(config=self.config)
        path = (Path(coursedir.format_path(coursedir.source_directory, ".", self.assignment_id))
                / f"{self.notebook_id}.ipynb")
        try:
            return [cell_key(c) for c in nbformat.read(path, as_version=4).cells]
        except (OSError, ValueError):
            return fallback

    def _insert(self, nb, cell, name: str, source_ids: list[str]) -> None:
        order = self._source_order(source_ids)
        if name not in order:
            order = source_ids
        nb.cells.insert(restore_at(order, self._present(nb), name), cell)

    @staticmethod
    def _given_cell(source_cell):
        meta = {"deletable": False, "editable": False,
                "nbgrader": {"grade": False, "solution": False, "locked": True, "grade_id": source_cell.name,
                             "checksum": source_cell.checksum, "cell_type": source_cell.cell_type,
                             "schema_version": SCHEMA_VERSION}}
        if source_cell.cell_type == "code":
            return nbformat.v4.new_code_cell(source_cell.source, metadata=meta)
        return nbformat.v4.new_markdown_cell(source_cell.source, metadata=meta)
