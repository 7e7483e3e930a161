"""Reference code of exercise 1, in NumPy (float64), run by the grader only.

Systems are ``A v = b`` with ``A`` (n, n), ``b`` (n,), ``v`` (n,). The reference loss is the
sum of squared residuals; its gradient is ``2 Aᵀ(A v − b)``. The optimisers follow Keras'
``SGD`` and ``Adam`` update rules exactly (Adam: β₁ 0.9, β₂ 0.999, ε 1e-7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdkit.checks.linear_system import LESSON_A, LESSON_B

LR, EPOCHS, STOP_TOL = 0.1, 10_000, 1e-8


@dataclass(frozen=True)
class System:
    """A square system ``A v = b`` with its exact solution; ``label`` names it in messages."""

    A: np.ndarray
    b: np.ndarray
    solution: np.ndarray
    label: str


def lesson_systems() -> list[System]:
    """The three systems of the lesson (範例2): (10, 6), (3, 1) and (4, −6)."""
    rows = [
        (LESSON_A, LESSON_B, "x+y=16, 10x+25y=250"),
        (np.array([[2, 3], [1, -1]]), np.array([9, 2]), "2x+3y=9, x−y=2"),
        (np.array([[1, 1], [3, 2]]), np.array([-2, 0]), "2x+2−(x−y)=0, 3x+2y=0"),
    ]
    out = []
    for A, b, label in rows:
        A, b = np.asarray(A, np.float64), np.asarray(b, np.float64)
        out.append(System(A, b, np.linalg.solve(A, b), label))
    return out


def random_systems(rng: np.random.Generator, count: int, n: int = 2, max_cond: float = 6.0) -> list[System]:
    """``count`` well-conditioned systems the student never saw: integer A and solution."""
    out = []
    while len(out) < count:
        A = rng.integers(-6, 7, size=(n, n)).astype(np.float64)
        if abs(np.linalg.det(A)) < 1 or np.linalg.cond(A) > max_cond:
            continue
        solution = rng.integers(-8, 9, size=n).astype(np.float64)
        b = A @ solution
        label = ", ".join(" ".join(f"{a:+g}·v{j}" for j, a in enumerate(row)) + f" = {bi:g}"
                          for row, bi in zip(A, b, strict=True))
        out.append(System(A, b, solution, label))
    return out


def loss(A, b, v) -> float:
    r = np.asarray(A, np.float64) @ np.asarray(v, np.float64) - np.asarray(b, np.float64)
    return float(r @ r)


def gradient(A, b, v) -> np.ndarray:
    """∂loss/∂v, (n,)."""
    A = np.asarray(A, np.float64)
    return 2.0 * A.T @ (A @ np.asarray(v, np.float64) - np.asarray(b, np.float64))


class Adam:
    """Keras' Adam on an array of any shape: ``step(v, g)`` returns the updated ``v``."""

    def __init__(self, lr: float, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7):
        self.lr, self.b1, self.b2, self.eps = lr, beta_1, beta_2, epsilon
        self.t, self.m, self.s = 0, 0.0, 0.0

    def step(self, v: np.ndarray, g: np.ndarray) -> np.ndarray:
        self.t += 1
        self.m = self.m + (g - self.m) * (1 - self.b1)
        self.s = self.s + (g * g - self.s) * (1 - self.b2)
        alpha = self.lr * np.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        return v - self.m * alpha / (np.sqrt(self.s) + self.eps)


class SGD:
    def __init__(self, lr: float):
        self.lr = lr

    def step(self, v: np.ndarray, g: np.ndarray) -> np.ndarray:
        return v - self.lr * g


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def steps(A, b, v0, optimizer: str, lr: float, count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` reference steps from ``v0``: the points after each (count, n), the loss before each (count,)."""
    opt = OPTIMIZERS[optimizer](lr)
    v, points, before = np.asarray(v0, np.float64), [], []
    for _ in range(count):
        before.append(loss(A, b, v))
        v = opt.step(v, gradient(A, b, v))
        points.append(v)
    return np.stack(points), np.asarray(before)


def descend(systems: list[System], v0s: np.ndarray, epochs: int = EPOCHS, lr: float = LR):
    """Adam(lr) on every (system, start) at once, for ``epochs``: the points (epochs, R, n) and
    the losses (epochs, R) before each step, as in the notebook's loop."""
    A = np.stack([s.A for s in systems])
    b = np.stack([s.b for s in systems])
    v = np.asarray(v0s, np.float64).copy()
    opt = Adam(lr)
    points, losses = np.empty((epochs, *v.shape)), np.empty((epochs, len(systems)))
    for t in range(epochs):
        r = np.einsum("rij,rj->ri", A, v) - b
        losses[t] = np.einsum("ri,ri->r", r, r)
        v = opt.step(v, 2.0 * np.einsum("rji,rj->ri", A, r))
        points[t] = v
    return points, losses


def stop_epoch(losses: np.ndarray, tol: float = STOP_TOL) -> int:
    """The first epoch (1-based) at which |loss − previous loss| < tol; 0 if none."""
    change = np.abs(np.diff(np.asarray(losses, np.float64)))
    hits = np.flatnonzero(change < tol)
    return int(hits[0]) + 2 if hits.size else 0


def should_stop(loss_now: float, previous: float, tol: float) -> bool:
    return abs(loss_now - previous) < tol
