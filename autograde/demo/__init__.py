"""The example class (``examples``: the exercises' example submissions) and ``make main``'s job
(``main_job``: release, autograde with nbgrader, print the grade table)."""
