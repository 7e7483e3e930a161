"""Grading one notebook: ``session`` runs it in a grading kernel and has ``judge`` decide each check
outside the kernel; ``runner`` grades a notebook file; ``reference_run`` runs the solution for
thresholds and time limits; ``budget`` bounds a submission's time; ``inert`` makes student output
safe to show."""
