"""Reference code of exercise 3, in NumPy (float64), run by the grader only.

Shapes: x (N, 784), W (784, 10), b (10,), logits z (N, 10), integer labels y (N,).
"""

from __future__ import annotations

import numpy as np


def logits(x, W, b) -> np.ndarray:
    return np.asarray(x, np.float64) @ np.asarray(W, np.float64) + np.asarray(b, np.float64)


def cross_entropy(y, z) -> float:
    """Mean softmax cross-entropy of integer labels ``y`` and logits ``z``."""
    z = np.asarray(z, np.float64)
    zmax = z.max(axis=1, keepdims=True)
    log_norm = zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(z)), np.asarray(y, np.int64)]))


def accuracy(y, z) -> float:
    return float(np.mean(np.argmax(np.asarray(z), axis=1) == np.asarray(y)))


def gradients(x, y, W, b) -> tuple[np.ndarray, np.ndarray]:
    """∂L/∂W (784, 10) and ∂L/∂b (10,) of the mean cross-entropy of the batch."""
    z = logits(x, W, b)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(z)), np.asarray(y, np.int64)] -= 1.0
    dz = p / len(z)
    return np.asarray(x, np.float64).T @ dz, dz.sum(axis=0)


def stand_in_gradients(x, y, W, b, s, t, T) -> tuple[float, np.ndarray, np.ndarray]:
    """The loss and ∂L/∂W (784, 10), ∂L/∂b (10,) with the probe's stand-ins
    (``gdkit.checks.logistic_regression.stand_ins``): scores z = s·xW + t·b, loss mean ½‖z − T[y]‖²."""
    x, W, b = (np.asarray(a, np.float64) for a in (x, W, b))
    residual = s * (x @ W) + t * b - np.asarray(T, np.float64)[np.asarray(y, np.int64)]
    loss = float(np.mean(0.5 * np.sum(residual**2, axis=1)))
    dz = residual / len(x)
    return loss, s * (x.T @ dz), t * dz.sum(axis=0)
