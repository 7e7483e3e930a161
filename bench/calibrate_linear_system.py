"""Margins of exercise 1's tolerances over grading seeds: see autograde/exercises/linear_system/calibration.py.

Usage: python bench/calibrate_linear_system.py [--seeds 20]
"""

from autograde.exercises.linear_system.calibration import main

if __name__ == "__main__":
    import published  # bench/published.py, beside this script

    published.run(main, __file__)
