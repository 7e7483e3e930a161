"""How far the reference lands from the exact solution, per grading seed (exercise 1).

    python -m autograde.exercises.linear_system.calibration [--seeds 20]

For every seed: the grader's own float64 runs (``checks.reference_runs``) and the source
notebook's answers run by the probes in this process in float32, on exactly the instances
the checks use; the worst errors and epochs, next to the tolerances of ``checks``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

from autograde.assignment.notebook import answer_namespace
from autograde.assignment.probe import in_process_kernel
from autograde.assignment.registry import SOURCES
from autograde.assignment.returned import Value
from autograde.exercises.linear_system import checks
from autograde.exercises.linear_system import reference as ref
from gdkit.tolerance import rel_error

NOTEBOOK = "01_linear_system"


def solution_kernel(scratch: Path):
    """A kernel in this process holding the source notebook's answers."""
    nb = nbformat.read(SOURCES[NOTEBOOK], as_version=4)
    return in_process_kernel(answer_namespace(nb, "import math\nimport tensorflow as tf\n"), scratch)


def calibrate(seed: int, kernel=None) -> dict:
    """Worst errors and epochs of the convergence and early-stopping instances of ``seed``."""
    runs, points, _, stops = checks.reference_runs(seed, "converge")
    solutions = np.stack([s.solution for s, _ in runs])
    row = {"seed": seed,
           "converge_max_error": max(rel_error(points[e - 1, r], solutions[r]) for r, e in enumerate(stops)),
           "converge_max_epochs": int(stops.max())}
    loop_runs, loop_points, _, loop_stops = checks.reference_runs(seed, "loop")
    row["early_max_epochs"] = int(loop_stops.max())
    row["all_stopped_early"] = bool(np.all(loop_stops < ref.EPOCHS))
    row["early_max_error"] = max(rel_error(loop_points[e - 1, r], s.solution)
                                 for r, ((s, _), e) in enumerate(zip(loop_runs, loop_stops, strict=True)))
    if kernel is not None:  # the source's answers in float32, through the probes
        shape = (len(runs), 2)
        got = kernel.call(f"{checks.PROBES}:probe_solve", ("linear_system_loss", "gradient_step"),
                          {"v": Value(shape, finite=False), "early": Value(shape, finite=False)},
                          A=np.stack([s.A for s, _ in runs]).astype(np.float32),
                          b=np.stack([s.b for s, _ in runs]).astype(np.float32),
                          v0=np.stack([v0 for _, v0 in runs]).astype(np.float32), epochs=stops, lr=ref.LR)
        row["float32_max_error"] = max(rel_error(got["v"][r], solutions[r]) for r in range(len(runs)))
        row["float32_early_gap"] = max(rel_error(got["early"][r], points[9, r]) for r in range(len(runs)))
    return row


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    print(f"tolerances: SOLUTION_TOL={checks.SOLUTION_TOL:g}, EARLY_TOL={checks.EARLY_TOL:g}, "
          f"early stop by epoch {checks.EARLY_STOP_BY}")
    print("seed  max error  float32 max error  float32 gap at epoch 10  max epochs | early stop epochs | s")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        kernel = solution_kernel(Path(scratch))
        for seed in range(args.seeds):
            t = time.perf_counter()
            row = calibrate(seed, kernel)
            rows.append(row)
            print(f"{seed:>4}  {row['converge_max_error']:>9.2e}  {row['float32_max_error']:>17.2e}  "
                  f"{row['float32_early_gap']:>23.2e}  {row['converge_max_epochs']:>10} | "
                  f"{row['early_max_epochs']:>17} | {time.perf_counter() - t:.1f}")
    worst = max(max(r["converge_max_error"], r["float32_max_error"]) for r in rows)
    gap = max(r["float32_early_gap"] for r in rows)
    latest = max(r["early_max_epochs"] for r in rows)
    print(f"worst error {worst:.2e} = {worst / checks.SOLUTION_TOL:.0%} of SOLUTION_TOL; worst gap after 10 "
          f"epochs {gap:.2e} = {gap / checks.EARLY_TOL:.0%} of EARLY_TOL; latest early stop at epoch {latest} "
          f"of the allowed {checks.EARLY_STOP_BY}")


if __name__ == "__main__":
    main()
