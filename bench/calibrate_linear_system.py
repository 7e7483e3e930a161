"""Print how far the reference solution lands from the exact one, per grading seed (exercise 1).

Usage: python bench/calibrate_linear_system.py [--seeds 20]
For every seed it solves exactly the instances the hidden checks use, with the reference
loss, step and stopping rule, and prints the worst relative error and the epochs run,
next to the tolerances in autograde/linear_system.py.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from autograde import linear_system as ls


def calibrate(seed: int) -> dict:
    """Worst error and epochs of the convergence and early-stopping instances of ``seed``."""
    lesson, unseen, v0s = ls.grading_instances(seed)
    conv = ls.converge_errors(lesson, v0s) + ls.converge_errors(unseen, v0s[:1])
    early = ls.converge_errors(lesson[1:] + unseen[:2], v0s[:1])
    return {
        "seed": seed,
        "converge_max_error": max(e for e, _ in conv),
        "converge_max_epochs": max(r.epochs for _, r in conv),
        "early_max_error": max(e for e, _ in early),
        "early_max_epochs": max(r.epochs for _, r in early),
        "all_stopped_early": all(r.stopped_early for _, r in conv + early),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    print(f"tolerances: SOLUTION_TOL={ls.SOLUTION_TOL:g}, early stop by epoch {ls.EARLY_STOP_BY}")
    print("seed  converge: max error  max epochs | early stop: max error  max epochs | seconds")
    rows = []
    for seed in range(args.seeds):
        t = time.perf_counter()
        row = calibrate(seed)
        rows.append(row)
        print(f"{seed:>4}  {row['converge_max_error']:>19.2e}  {row['converge_max_epochs']:>10} | "
              f"{row['early_max_error']:>21.2e}  {row['early_max_epochs']:>10} | {time.perf_counter() - t:.1f}")
    worst = max(r["converge_max_error"] for r in rows + []) if rows else 0
    worst_early = max(r["early_max_epochs"] for r in rows)
    print(f"worst error {worst:.2e} = {worst / ls.SOLUTION_TOL:.0%} of the tolerance; "
          f"latest early stop at epoch {worst_early} of the allowed {ls.EARLY_STOP_BY}")


if __name__ == "__main__":
    main()
