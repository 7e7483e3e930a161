"""Reference code of exercise 2, in NumPy, run by the grader only.

Images x (N, 28, 28) in [0, 1], one-hot labels (N, 10), probabilities (N, 10).
"""

from __future__ import annotations

import numpy as np

#: Keras clips probabilities to [EPSILON, 1 − EPSILON] in its cross-entropy.
EPSILON = 1e-7
#: Weight shapes of the lesson's network: Dense(128) kernel and bias, Dense(10) kernel and bias.
MLP_SHAPES = ((784, 128), (128,), (128, 10), (10,))
#: Weight shapes of the probe's normalised model: BatchNormalization (γ, β, moving mean and
#: variance) over 784 inputs, then Dense(10).
BN_SHAPES = ((784,), (784,), (784,), (784,), (784, 10), (10,))
BN_MOMENTUM = 0.99


def cross_entropy(y_true, y_pred) -> float:
    """Mean categorical cross-entropy, as ``tf.keras.losses.categorical_crossentropy``."""
    p = np.asarray(y_pred, np.float64)
    p = np.clip(p / p.sum(axis=1, keepdims=True), EPSILON, 1 - EPSILON)
    return float(np.mean(-np.sum(np.asarray(y_true, np.float64) * np.log(p), axis=1)))


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def mlp_forward(weights, x) -> np.ndarray:
    """Class scores (N, 10) of the lesson's network at inference (Dropout off), before the softmax."""
    w1, b1, w2, b2 = (np.asarray(w, np.float64) for w in weights)
    hidden = np.maximum(np.asarray(x, np.float64).reshape(len(x), -1) @ w1 + b1, 0.0)
    return hidden @ w2 + b2


def squared_error(weights, x, y) -> float:
    """The probe's training loss: mean squared error of the probabilities against one-hot ``y``."""
    return float(np.mean((softmax(mlp_forward(weights, x)) - np.asarray(y, np.float64)) ** 2))


def sgd_steps(weights, x, y, lr: float, steps: int) -> tuple[list[np.ndarray], np.ndarray]:
    """The probe's training steps (``gdkit.checks.mnist_mlp.probe_train``) in float64: the lesson's
    network without Dropout, the mean squared error of its probabilities against one-hot ``y``
    (N, 10), plain SGD(lr). Returns the weights after ``steps`` steps and the loss before each (steps,)."""
    w1, b1, w2, b2 = (np.array(w, np.float64) for w in weights)
    X, Y = np.asarray(x, np.float64).reshape(len(x), -1), np.asarray(y, np.float64)
    losses = []
    for _ in range(int(steps)):
        a = X @ w1 + b1
        h = np.maximum(a, 0.0)
        p = softmax(h @ w2 + b2)
        losses.append(float(np.mean((p - Y) ** 2)))
        dp = 2.0 * (p - Y) / p.size
        dz = p * (dp - np.sum(dp * p, axis=1, keepdims=True))
        da = (dz @ w2.T) * (a > 0)
        grads = (X.T @ da, da.sum(axis=0), h.T @ dz, dz.sum(axis=0))
        w1, b1, w2, b2 = (w - lr * g for w, g in zip((w1, b1, w2, b2), grads, strict=True))
    return [w1, b1, w2, b2], np.asarray(losses)


def glorot(rng: np.random.Generator, shape) -> np.ndarray:
    limit = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def initial_weights(rng: np.random.Generator) -> list[np.ndarray]:
    """Starting weights of the lesson's network, as Keras would draw them (Glorot uniform, zero biases)."""
    return [glorot(rng, (784, 128)), np.zeros(128, np.float32), glorot(rng, (128, 10)), np.zeros(10, np.float32)]


def bn_initial_weights(rng: np.random.Generator) -> list[np.ndarray]:
    return [np.ones(784, np.float32), np.zeros(784, np.float32), np.zeros(784, np.float32),
            np.ones(784, np.float32), glorot(rng, (784, 10)), np.zeros(10, np.float32)]


def early_stopping(losses, patience: int) -> tuple[int, int]:
    """(epoch after which training stops, 0 if it never does; epoch of the best weights), 1-based.

    Only a strictly lower loss is an improvement; stop once ``patience`` epochs in a row bring none.
    """
    best, best_epoch, wait = np.inf, 0, 0
    for epoch, loss in enumerate(losses, 1):
        if loss < best:
            best, best_epoch, wait = loss, epoch, 0
            continue
        wait += 1
        if wait >= patience:
            return epoch, best_epoch
    return 0, best_epoch
