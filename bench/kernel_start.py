"""What a grading kernel costs before and after the notebook: start, TensorFlow's import, shutdown.

Usage: python bench/kernel_start.py [--runs 3]
Prints, median over runs, the seconds of a one-cell grading session (sandboxed kernel, started
and stopped) with an empty cell and with ``import tensorflow``, with nbclient's graceful shutdown
and with the immediate one the graders use; then the same session served by a kernel started
ahead (``autograde.kernel.pool``), TensorFlow already imported.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402
from traitlets.config import Config  # noqa: E402

from autograde.grading.runner import GradingClient  # noqa: E402
from autograde.kernel import pool as kernel_pool  # noqa: E402


def session(code: str, shutdown: str = "immediate", spare: bool = False) -> float:
    """Seconds of a grading session running ``code`` in one cell."""
    config = Config()
    config.GradingClient.spare_kernels = spare
    if spare:
        kernel_pool.start_spare(config)
        kernel_pool._spares[kernel_pool.settings_key(config)].result()  # started and warm: not timed
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    client = GradingClient(config=config, timeout=120, shutdown_kernel=shutdown)
    with tempfile.TemporaryDirectory() as work:
        t = time.perf_counter()
        client.preprocess(nb, {"metadata": {"path": work}})
        return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for label, fn in (("empty cell, graceful shutdown", lambda: session("1", "graceful")),
                      ("empty cell, immediate shutdown", lambda: session("1")),
                      ("import tensorflow, graceful shutdown", lambda: session("import tensorflow", "graceful")),
                      ("import tensorflow, immediate shutdown", lambda: session("import tensorflow")),
                      ("import tensorflow, kernel started ahead", lambda: session("import tensorflow", spare=True))):
        times = [fn() for _ in range(args.runs)]
        print(f"{label:<42} median {statistics.median(times):5.2f} s (min {min(times):.2f}, max {max(times):.2f})",
              flush=True)


if __name__ == "__main__":
    import published  # bench/published.py, beside this script

    published.run(main, __file__)
