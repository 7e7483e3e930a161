"""The lesson's original solver of x+y=16, 10x+25y=250 (範例2), eager and compiled, timed.

Usage: python bench/lesson_linear_system.py [--runs 3] [--skip-eager | --skip-compiled]
Prints seconds per solve (median), epochs run and the answer, for the lesson's loop as
written (eager) and the same loop with the step under ``tf.function``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import tensorflow as tf


def lesson_solve(compiled: bool) -> tuple[int, float, float]:
    """The lesson's loop: Adam(0.1), up to 10,000 epochs, stop when |Δloss| < 1e-8."""
    x = tf.Variable(random.random())
    y = tf.Variable(random.random())
    optimizer = tf.keras.optimizers.Adam(0.1)

    def step():
        with tf.GradientTape() as tape:
            y1 = x + y - 16
            y2 = 10 * x + 25 * y - 250
            loss = y1 * y1 + y2 * y2
        dx, dy = tape.gradient(loss, [x, y])
        optimizer.apply_gradients([(dx, x), (dy, y)])
        return loss

    if compiled:
        step = tf.function(step)
    previous_loss = np.inf
    for i in range(10000):
        loss = step()
        if abs(loss - previous_loss) < 10 ** -8:
            return i + 1, float(x.numpy()), float(y.numpy())
        previous_loss = loss
    return 10000, float(x.numpy()), float(y.numpy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-eager", action="store_true", help="the eager loop takes about a minute")
    parser.add_argument("--skip-compiled", action="store_true", help="only the loop as the lesson wrote it")
    args = parser.parse_args()
    for compiled in ([True] if args.skip_eager else [False] if args.skip_compiled else [False, True]):
        times, last = [], None
        for run in range(args.runs):
            random.seed(run)
            t = time.perf_counter()
            last = lesson_solve(compiled)
            times.append(time.perf_counter() - t)
        label = "compiled (tf.function)" if compiled else "eager (as in the lesson)"
        print(f"lesson loop, {label:<24} median {statistics.median(times):6.2f} s over {args.runs} runs; "
              f"last run: {last[0]} epochs, x={last[1]:.4f}, y={last[2]:.4f}")


if __name__ == "__main__":
    import published  # bench/published.py, beside this script

    published.run(main, __file__)
