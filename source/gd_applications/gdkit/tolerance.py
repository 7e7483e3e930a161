"""The one tolerance helper used by every numeric check (visible and hidden).

``rel_error`` is the relative error with a floor, as in cs231n:
``max(|got - expected| / max(floor, |expected|))`` over all elements. The floor keeps
the error meaningful for values near zero: with ``floor=1`` an expected 0 is compared
in absolute terms.
"""

from __future__ import annotations

import numpy as np


def rel_error(got, expected, floor: float = 1.0) -> float:
    """Largest elementwise relative error of ``got`` against ``expected``.

    got, expected: array-likes of the same shape (tensors are converted with NumPy).
    Returns a non-negative float; ``inf`` when ``got`` holds NaN or inf.
    """
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if g.shape != e.shape:
        raise ValueError(f"shapes differ: got {g.shape}, expected {e.shape}")
    if not np.all(np.isfinite(g)):
        return float("inf")
    if g.size == 0:
        return 0.0
    return float(np.max(np.abs(g - e) / np.maximum(floor, np.abs(e))))


def assert_close(got, expected, tol: float, what: str, hint: str = "", floor: float = 1.0) -> float:
    """Raise AssertionError unless ``rel_error(got, expected, floor) <= tol``.

    The message names ``what`` was compared, both values, the error and ``hint``
    (the likely cause). Returns the relative error.
    """
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if g.shape != e.shape:
        raise AssertionError(
            f"{what}: expected shape {e.shape}, got shape {g.shape}. {hint}".strip()
        )
    err = rel_error(g, e, floor)
    if not err <= tol:
        raise AssertionError(
            f"{what}: expected {_fmt(e)}, got {_fmt(g)} "
            f"(relative error {err:.2e}, allowed {tol:.0e}). {hint}".strip()
        )
    return err


def _fmt(a: np.ndarray) -> str:
    return np.array2string(a, precision=6, suppress_small=False) if a.ndim else f"{float(a):.6g}"
