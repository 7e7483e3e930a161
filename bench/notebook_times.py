"""Seconds to execute each solution notebook top to bottom in a fresh kernel (TensorFlow's start included).

Usage: python bench/notebook_times.py [--runs 3]
Prints the median over runs for every notebook of source/, executed as the graders do
(same kernel environment), on whatever MNIST ``load_mnist`` finds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde.registry import NOTEBOOKS  # noqa: E402
from autograde.runner import KERNEL_ENV, SOURCE  # noqa: E402


def execute(notebook: str) -> float:
    nb = nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4)
    env = {**os.environ, **KERNEL_ENV,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    t = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(SOURCE)}}).execute(env=env)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for notebook in NOTEBOOKS:
        times = [execute(notebook) for _ in range(args.runs)]
        print(f"{notebook:<26} median {statistics.median(times):5.1f} s "
              f"(min {min(times):.1f}, max {max(times):.1f}, {args.runs} runs, hidden tests included)")


if __name__ == "__main__":
    main()
