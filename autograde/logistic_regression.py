"""Hidden checks and reference code for exercise 3, logistic regression on MNIST by SGD.

Shapes: x (N, 784) float32, W (784, 10), b (10,), logits (N, 10), labels y (N,) int.
"""

from __future__ import annotations

import math

import numpy as np

from autograde.mnist_common import accuracy_of, grader_data, threshold
from gdkit.checks._common import CheckFailed, call_student, say
from gdkit.checks.logistic_regression import TOL, scalar
from gdkit.tolerance import rel_error

#: Steps averaged at each end of the recorded training losses ("smoothed windows").
WINDOW = 100


def reference_logits(x, W, b):
    import tensorflow as tf

    return tf.matmul(x, W) + b


def reference_cross_entropy(y_true, z):
    import tensorflow as tf

    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(y_true, tf.int64), z))


def reference_accuracy(y_true, z):
    import tensorflow as tf

    return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(z, axis=1), tf.cast(y_true, tf.int64)), tf.float32))


def _random_problem(rng, n: int = 50):
    import tensorflow as tf

    x = tf.constant(rng.random((n, 784)).astype(np.float32))
    W = tf.Variable((rng.normal(size=(784, 10)) * 0.05).astype(np.float32))
    b = tf.Variable(rng.normal(size=10).astype(np.float32))
    y = tf.constant(rng.integers(0, 10, n))
    return x, W, b, y


def logits_and_loss_match_reference(logits, cross_entropy, seed: int = 0) -> None:
    """logits and cross-entropy equal the reference on random inputs."""
    import tensorflow as tf

    rng = np.random.default_rng(3000 + seed)
    x, W, b, y = _random_problem(rng)
    z = np.asarray(call_student(logits, x, W, b, name="logits"))
    expected = reference_logits(x, W, b).numpy()
    if z.shape != expected.shape or rel_error(z, expected) > 1e-4:
        raise CheckFailed(say("在隨機輸入上,logits 與 x·W + b 不同。",
                              f"On random inputs the logits differ from x·W + b (shape {z.shape}, "
                              f"expected {expected.shape}): use tf.matmul(x, W) + b."))
    for scale in (1.0, 5.0):
        zz = tf.constant(rng.normal(size=(50, 10)).astype(np.float32) * scale)
        want = float(reference_cross_entropy(y, zz))
        got = scalar(call_student(cross_entropy, y, zz, name="cross_entropy"), "cross_entropy")
        if rel_error(got, want) > TOL:
            raise CheckFailed(say(
                f"在隨機 logits 上,交叉熵應為 {want:.6f},卻得到 {got:.6f}。",
                f"On random logits the cross-entropy should be {want:.6f}, got {got:.6f}: apply "
                "softmax to the logits once (tf.nn.softmax_cross_entropy_with_logits does), with "
                "one-hot labels of depth 10, then average.",
            ))


def accuracy_matches_reference(accuracy, seed: int = 0) -> None:
    """accuracy equals the reference on random logits and labels."""
    import tensorflow as tf

    rng = np.random.default_rng(3100 + seed)
    for n in (100, 37):
        y = tf.constant(rng.integers(0, 10, n))
        z = tf.constant(rng.normal(size=(n, 10)).astype(np.float32))
        want = float(reference_accuracy(y, z))
        got = scalar(call_student(accuracy, y, z, name="accuracy"), "accuracy")
        if abs(got - want) > TOL:
            raise CheckFailed(say(f"在 {n} 筆隨機資料上,準確率應為 {want:.4f},卻得到 {got:.4f}。",
                                  f"On {n} random predictions the accuracy should be {want:.4f}, "
                                  f"got {got:.4f}."))


def sgd_step_matches_reference(sgd_step, seed: int = 0) -> None:
    """One compiled step from a fixed point equals W − lr·∂L/∂W, b − lr·∂L/∂b."""
    import tensorflow as tf

    rng = np.random.default_rng(3200 + seed)
    x, W, b, y = _random_problem(rng)
    W0, b0, lr = W.numpy().copy(), b.numpy().copy(), 0.05
    with tf.GradientTape() as tape:
        loss0 = reference_cross_entropy(y, reference_logits(x, W, b))
    dW, db = tape.gradient(loss0, [W, b])
    want_W, want_b = W0 - lr * dW.numpy(), b0 - lr * db.numpy()
    step = tf.function(sgd_step)
    returned = scalar(call_student(step, x, y, W, b, tf.constant(lr), name="sgd_step"), "sgd_step")
    got_W, got_b = W.numpy(), b.numpy()
    if np.allclose(got_W, W0) and np.allclose(got_b, b0):
        raise CheckFailed(say("W 與 b 沒有改變:請用 `W.assign_sub(lr * dW)` 更新。",
                              "W and b did not change: update them with `W.assign_sub(lr * dW)`."))
    if rel_error(got_W - W0, lr * dW.numpy(), floor=1e-6) < 1e-2:
        raise CheckFailed(say("你的更新朝梯度的方向走(上坡):應為 W ← W − lr·dW。",
                              "Your update moves along the gradient, uphill: it should be "
                              "W ← W − lr·dW (is the sign reversed?)."))
    err = max(rel_error(got_W, want_W), rel_error(got_b, want_b))
    if err > 1e-4:
        raise CheckFailed(say(
            "一步 SGD 的結果與參考更新不同。",
            f"One SGD step from a fixed point differs from W − lr·dW, b − lr·db (relative error "
            f"{err:.1e}, allowed 1e-4): take the gradient of the mean cross-entropy of this batch "
            "and update each variable once.",
        ))
    if rel_error(returned, float(loss0)) > TOL:
        raise CheckFailed(say(f"`sgd_step` 應回傳更新前的損失 {float(loss0):.6f},卻回傳 {returned:.6f}。",
                              f"`sgd_step` should return the loss before the update, {float(loss0):.6f}, "
                              f"got {returned:.6f}."))


def _as_params(W, b):
    Wn, bn = np.asarray(W, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if Wn.shape != (784, 10) or bn.shape != (10,):
        raise CheckFailed(f"W and b should have shapes (784, 10) and (10,), got {Wn.shape} and {bn.shape}.")
    return Wn, bn


def full_loss(Wn, bn, x, y) -> float:
    """Mean cross-entropy of parameters (784, 10), (10,) on images x (N, 784), labels y (N,).

    NumPy only, so that the grader can re-check it outside the student's kernel.
    """
    z = x.astype(np.float64) @ Wn.astype(np.float64) + bn.astype(np.float64)
    zmax = z.max(axis=1, keepdims=True)
    log_norm = zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(y)), y]))


def export_params(W, b, *rest, seed: int = 0) -> dict[str, np.ndarray]:
    """The values the grader re-checks outside the kernel: W (784, 10), b (10,), and ``rest``."""
    out = {"W": np.asarray(W, np.float32), "b": np.asarray(b, np.float32)}
    for i, value in enumerate(rest):
        out[f"extra{i}"] = np.asarray(value, np.float64)
    return out


def loss_decreases(W, b, losses, seed: int = 0) -> None:
    """The recorded loss falls (first vs last 100 steps), and the grader's full training loss falls."""
    data = grader_data()
    Wn, bn = _as_params(W, b)
    x = data.x_train.reshape(len(data.x_train), -1)
    before = full_loss(np.zeros_like(Wn), np.zeros_like(bn), x, data.y_train)  # = ln 10
    after = full_loss(Wn, bn, x, data.y_train)
    if not after < 0.5 * before:
        raise CheckFailed(say(
            f"整個訓練集的損失從 {before:.4f}(零權重)只變成 {after:.4f},應至少減半。",
            f"The loss on the whole training set went from {before:.4f} (zero weights) to only "
            f"{after:.4f}; training should at least halve it: is the learning rate 0, or the "
            "update's sign reversed?",
        ))
    rec = np.asarray(losses, dtype=np.float64).ravel()
    if rec.size < 2 * WINDOW or not np.all(np.isfinite(rec)):
        raise CheckFailed(f"`losses` should hold one finite loss per step, at least {2 * WINDOW}; "
                          f"it has {rec.size}.")
    early, late = rec[:WINDOW].mean(), rec[-WINDOW:].mean()
    if not late < early:
        raise CheckFailed(say(f"最後 {WINDOW} 步的平均損失 {late:.4f} 不低於最初 {WINDOW} 步的 {early:.4f}。",
                              f"The mean loss of the last {WINDOW} steps, {late:.4f}, is not below "
                              f"that of the first {WINDOW}, {early:.4f}."))


def reported_accuracy(W, b, test_accuracy, seed: int = 0) -> None:
    """The notebook's ``test_accuracy`` is the accuracy of W, b on the test set."""
    data = grader_data()
    Wn, bn = _as_params(W, b)
    x = data.x_test.reshape(len(data.x_test), -1)
    want = accuracy_of(lambda xb: xb @ Wn + bn, x, data.y_test)
    got = float(np.asarray(test_accuracy).reshape(()))
    if not math.isclose(got, want, abs_tol=1e-4):
        raise CheckFailed(say(
            f"`test_accuracy` 是 {got:.4f},但 W、b 在測試集上的準確率是 {want:.4f}。",
            f"`test_accuracy` is {got:.4f}, but the accuracy of W, b on the test set is {want:.4f}: "
            "compute it on x_test and y_test, not on a training batch.",
        ))


def logreg_accuracy(W, b, seed: int = 0) -> None:
    """The trained W, b reach the accuracy threshold on the grader's own test set."""
    data = grader_data()
    Wn, bn = _as_params(W, b)
    minimum, described = threshold("logreg")
    x = data.x_test.reshape(len(data.x_test), -1)
    acc = accuracy_of(lambda xb: xb @ Wn + bn, x, data.y_test)
    if acc < minimum:
        raise CheckFailed(say(f"測試準確率 {acc:.4f},低於門檻 {minimum}。",
                              f"Test accuracy {acc:.4f} is below the threshold {minimum} ({described})."))


def recheck_loss_decreases(arrays: dict[str, np.ndarray], seed: int = 0) -> None:
    """Outside the kernel, on the exported W, b and losses."""
    loss_decreases(arrays["W"], arrays["b"], arrays["extra0"], seed=seed)


def recheck_reported_accuracy(arrays: dict[str, np.ndarray], seed: int = 0) -> None:
    """Outside the kernel, on the exported W, b and test_accuracy."""
    reported_accuracy(arrays["W"], arrays["b"], arrays["extra0"], seed=seed)


def recheck_logreg_accuracy(arrays: dict[str, np.ndarray], seed: int = 0) -> None:
    """Outside the kernel, on the exported W and b."""
    logreg_accuracy(arrays["W"], arrays["b"], seed=seed)
