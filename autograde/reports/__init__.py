"""What grading writes: a student's ``summary``, Gradescope's results (``gradescope_results``), the
class's ``grades_csv`` and the per-check ``class_report``. Formats only: no grading here."""
