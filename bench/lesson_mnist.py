"""The lesson's original MNIST loops (範例1 and 範例3) on the data this machine has, timed.

Usage: python bench/lesson_mnist.py [--skip-logreg]
Runs the lesson's code as written (eager; no ``training=True``; logistic regression from
N(0, 1) weights in float64 for 10,000 SGD steps, accuracy on the last training batch as
the lesson printed it) on ``gdkit.data.load_mnist()``, and prints seconds and accuracies
to compare with ``bench/notebook_times.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "source" / "gd_applications"))

import numpy as np
import tensorflow as tf

from gdkit.data import load_mnist


def lesson_mlp(d) -> tuple[float, float]:
    """範例1 as written: 5 epochs of batch 1000, model(x_batch) without training=True."""
    tf.keras.utils.set_random_seed(0)
    y_train, y_test = tf.one_hot(d.y_train, depth=10), tf.one_hot(d.y_test, depth=10)
    model = tf.keras.models.Sequential([
        tf.keras.layers.Input((28, 28)), tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation="relu"), tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10, activation="softmax")])
    optimizer = tf.keras.optimizers.Adam()
    loss_fn = tf.keras.losses.CategoricalCrossentropy()
    t = time.perf_counter()
    for _epoch in range(5):
        for batch in range(d.x_train.shape[0] // 1000):
            x_batch = d.x_train[batch * 1000:(batch + 1) * 1000]
            y_batch = y_train[batch * 1000:(batch + 1) * 1000]
            with tf.GradientTape() as tape:
                loss = loss_fn(y_batch, model(x_batch))
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    seconds = time.perf_counter() - t
    acc = float(np.mean(np.argmax(model(d.x_test), 1) == np.argmax(y_test, 1)))
    return seconds, acc


def lesson_logreg(d) -> tuple[float, float, float]:
    """範例3 as written: float64 N(0, 1) start, SGD(0.01), 10,000 batches of 128, eager."""
    tf.keras.utils.set_random_seed(0)
    x_train = tf.reshape(d.x_train.astype(np.float64), (-1, 784))
    x_test = tf.reshape(d.x_test.astype(np.float64), (-1, 784))
    weights = tf.Variable(tf.random.normal((784, 10), dtype=tf.float64))
    biases = tf.Variable(tf.random.normal((10,), dtype=tf.float64))

    def logits(x):
        return tf.matmul(x, weights) + biases

    def cross_entropy(y, z):
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=tf.one_hot(y, 10), logits=z))

    def accuracy(y, z):
        return float(np.mean(np.argmax(z, 1) == np.asarray(y)))

    dataset = tf.data.Dataset.from_tensor_slices((x_train, d.y_train)).repeat().shuffle(10000).batch(128).prefetch(1)
    optimizer = tf.optimizers.SGD(0.01)
    t = time.perf_counter()
    for batch_no, (bx, by) in enumerate(dataset.as_numpy_iterator()):
        if batch_no >= 10000:
            break
        with tf.GradientTape() as tape:
            loss = cross_entropy(by, logits(bx))
        optimizer.apply_gradients(zip(tape.gradient(loss, [weights, biases]), [weights, biases]))
    seconds = time.perf_counter() - t
    return seconds, accuracy(by, logits(bx)), accuracy(d.y_test, logits(x_test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-logreg", action="store_true", help="its 10,000 eager steps take a minute")
    args = parser.parse_args()
    d = load_mnist()
    s, acc = lesson_mlp(d)
    print(f"lesson 範例1 (eager, 5 epochs × batch 1000): training {s:.1f} s, test accuracy {acc:.4f}")
    if not args.skip_logreg:
        s, batch_acc, test_acc = lesson_logreg(d)
        print(f"lesson 範例3 (eager, 10,000 SGD steps, N(0,1) start): training {s:.1f} s, accuracy on the "
              f"last training batch {batch_acc:.4f} (what the lesson printed), on the test set {test_acc:.4f}")


if __name__ == "__main__":
    import published  # bench/published.py, beside this script

    published.run(main, __file__)
