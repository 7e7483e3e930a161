"""What TensorFlow's import costs the pytest graders: one submission graded with cold kernels, and
with kernels that imported TensorFlow before the clock started (the bound a kernel forked from an
already-warm one could reach).

Usage: python bench/warm_kernels.py [--runs 2] [--jobs 2]
Grades the three solution notebooks in this process, ``--jobs`` at once, as the pytest graders do
(``autograde.grading.runner.grade_notebook``); "warm": each notebook takes a kernel started ahead by
``autograde.kernel.pool`` (sandboxed and limited as any grading kernel, ``registry.warm_up()`` run)
and made ready before timing. Prints the wall time of each way, run after run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from traitlets import default  # noqa: E402
from traitlets.config import Config  # noqa: E402

from autograde import limits  # noqa: E402
from autograde.assignment.registry import NOTEBOOKS  # noqa: E402
from autograde.grading import runner  # noqa: E402
from autograde.kernel import pool as kernel_pool  # noqa: E402


class WarmClient(runner.GradingClient):
    """The pytest graders' executor, taking the kernels started ahead."""

    @default("spare_kernels")
    def _take_spares(self) -> bool:
        return True


def grade_all(folder: Path, jobs: int, warm: bool) -> float:
    config = Config()
    config.GradingKernelManager.memory_mb = limits.MEMORY_MB
    config.GradingKernelManager.hide = [str(folder.resolve())]
    ready: list = []
    if warm:
        futures = [Future() for _ in NOTEBOOKS]
        for future in futures:
            kernel_pool._launcher().put((future, config))  # three spares of one setting
        ready = [future.result() for future in futures]
    taken = iter(ready)
    kernel_pool_take = kernel_pool.take
    kernel_pool.take = lambda _config: next(taken, None)
    client, runner.GradingClient = runner.GradingClient, WarmClient if warm else runner.GradingClient
    try:
        start = time.perf_counter()
        with ThreadPoolExecutor(jobs) as pool:
            grades = list(pool.map(lambda stem: runner.grade_notebook(folder / f"{stem}.ipynb", stem), NOTEBOOKS))
        seconds = time.perf_counter() - start
    finally:
        kernel_pool.take, runner.GradingClient = kernel_pool_take, client
        kernel_pool.stop_all()
    points = sum(g.points for g in grades)
    assert points == sum(c.points for g in grades for c in (r.check for r in g.results)), "not full marks"
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for stem in NOTEBOOKS:
            shutil.copy2(ROOT / "tests" / "submissions" / stem / "solution.ipynb", folder / f"{stem}.ipynb")
        for run in range(1, args.runs + 1):
            for warm in (False, True):
                label = "kernels warm (TensorFlow imported before)" if warm else "kernels started cold"
                print(f"run {run}: {label:<42} {grade_all(folder, args.jobs, warm):5.1f} s "
                      f"(--jobs {args.jobs})", flush=True)


if __name__ == "__main__":
    import published  # bench/published.py, beside this script

    published.run(main, __file__)
