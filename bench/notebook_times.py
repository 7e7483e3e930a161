"""Seconds a student waits to run each notebook top to bottom in a fresh kernel (TensorFlow's start included).

Usage: python bench/notebook_times.py [--runs 3]
Executes every notebook of source/ (the answers filled in, the visible checks run) in an
ordinary, unsandboxed kernel as in JupyterLab, offline on the embedded digits. The first run
starts from an empty data cache (the digits are parsed once, as on a student's first day);
prints it and the median of the later runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograde.assignment.registry import NOTEBOOKS, SOURCE  # noqa: E402

STUDENT_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0", "MPLBACKEND": "Agg", "GD_MNIST_OFFLINE": "1"}


def execute(notebook: str, cache: str) -> float:
    nb = nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4)
    env = {**os.environ, **STUDENT_ENV, "GD_MNIST_CACHE": cache}
    env.pop("NBGRADER_EXECUTION", None)
    t = time.perf_counter()
    # stopped at once afterwards: a student does not wait for the kernel to shut down
    NotebookClient(nb, timeout=600, kernel_name="python3", shutdown_kernel="immediate",
                   resources={"metadata": {"path": str(SOURCE)}}).execute(env=env)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for notebook in NOTEBOOKS:
        with tempfile.TemporaryDirectory() as cache:
            first = execute(notebook, cache)
            times = [execute(notebook, cache) for _ in range(args.runs)]
        print(f"{notebook:<26} first run {first:5.1f} s; later runs median {statistics.median(times):5.1f} s "
              f"(min {min(times):.1f}, max {max(times):.1f}, {args.runs} runs)", flush=True)


if __name__ == "__main__":
    import published  # bench/published.py, beside this script

    published.run(main, __file__)
