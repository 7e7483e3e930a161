"""Accuracy of the solution notebooks on the grader's held-out images over several seeds, to set the thresholds.

Usage: python bench/calibrate_mnist.py [--seeds 10] [--write docs/calibration.md]
Executes each MNIST solution notebook of source/ with GD_SEED=0..N-1 on the data a grading kernel
sees (the grader's view of whatever ``gdkit.data`` finds on this machine,
``autograde.exercises.mnist_data.split_folder``), measures the trained model's accuracy on the
grader's held-out images, and prints min / median / max and their span beside the margin below
the reference run allowed in autograde/exercises/mnist_data.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from autograde.assignment.registry import SOURCE  # noqa: E402
from autograde.exercises import mnist_data  # noqa: E402
from autograde.exercises.mnist_data import MARGIN  # noqa: E402
from autograde.kernel.contract import KERNEL_ENV  # noqa: E402

NOTEBOOKS = {"mlp": "02_mnist_gradient_tape", "logreg": "03_logistic_regression"}
#: Appended to the notebook: the trained model's classes for the held-out images (read from the
#: folder named by CALIBRATION_HELD_OUT, which no grading kernel has).
MEASURE = """
import json, os
import numpy as np
_x = np.load(os.path.join(os.environ["CALIBRATION_HELD_OUT"], "x.npy"))
if "model" in globals():
    _p = model(_x, training=False).numpy()
else:
    _p = _x.reshape(len(_x), -1) @ W.numpy() + b.numpy()
print("CALIBRATION " + json.dumps({"predicted": np.argmax(_p, axis=1).tolist(), "source": data.source}))
"""


def run(notebook: str, seed: int, view: Path, held_out: Path) -> dict:
    """Execute ``notebook`` at ``seed`` on the view folder ``view``; its classes for ``held_out``/x.npy."""
    nb = nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(MEASURE))
    env = {**os.environ, **KERNEL_ENV, "GD_SEED": str(seed), "GD_MNIST_VIEW": str(view), "GD_MNIST_PATH": "",
           "CALIBRATION_HELD_OUT": str(held_out),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    t = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(SOURCE)}}).execute(env=env)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    line = next(ln for ln in text.splitlines() if ln.startswith("CALIBRATION "))
    found = json.loads(line.removeprefix("CALIBRATION "))
    return {"predicted": np.asarray(found["predicted"]), "source": found["source"],
            "seconds": time.perf_counter() - t}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--write", type=Path, help="also write the table as Markdown to this file")
    args = parser.parse_args()
    rows = []
    folder = mnist_data.split_folder()
    y_held = mnist_data.held_out()[1]
    for model, notebook in NOTEBOOKS.items():
        results = []
        for seed in range(args.seeds):
            found = run(notebook, seed, folder / "view", folder / "held-out")
            results.append({**found, "accuracy": float(np.mean(found["predicted"] == y_held))})
            print(f"{notebook} seed {seed}: accuracy {results[-1]['accuracy']:.4f} "
                  f"({results[-1]['source']}, {results[-1]['seconds']:.1f} s)", flush=True)
        accs = [r["accuracy"] for r in results]
        rows.append((model, f"{results[0]['source']}, {len(y_held):,} held out", min(accs), statistics.median(accs),
                     max(accs), statistics.median(r["seconds"] for r in results)))
    head = ("| model | data | seeds | min | median | max | span (max − min) | margin | span / margin "
            "| seconds per notebook (median) |\n|---|---|---|---|---|---|---|---|---|---|")
    lines = [head] + [f"| {m} | {k} | {args.seeds} | {lo:.4f} | {med:.4f} | {hi:.4f} | {hi - lo:.4f} | {MARGIN} "
                      f"| {(hi - lo) / MARGIN:.0%} | {sec:.1f} |" for m, k, lo, med, hi, sec in rows]
    table = "\n".join(lines)
    print(table)
    if args.write:
        # sections after the table (from a "## " heading on) were written by other benches: kept
        kept = args.write.read_text(encoding="utf-8") if args.write.exists() else ""
        kept = kept[kept.index("\n## "):] if "\n## " in kept else ""
        args.write.write_text(
            "# Calibration of the accuracy thresholds\n\n"
            "Written by `python bench/calibrate_mnist.py --write docs/calibration.md`: each solution\n"
            "notebook executed once per seed (`GD_SEED`) on the data a grading kernel sees, accuracy\n"
            "measured by the grader on its held-out images, which no kernel sees. A trained model passes\n"
            "when its accuracy is at most `MARGIN` below the grader's own reference run (the source\n"
            "notebook, same data, budget and seed: `autograde/exercises/mnist_data.py`); the margin must\n"
            "stay well above the span a correct solution shows across seeds.\n\n" + table + "\n" + kept,
            encoding="utf-8")

if __name__ == "__main__":
    import published  # bench/published.py, beside this script

    published.run(main, __file__)
