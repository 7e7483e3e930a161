"""Visible checks for exercise 3 (logistic regression on MNIST by stochastic gradient descent).

Shapes: x (N, 784) float32, W (784, 10), b (10,), logits (N, 10), labels y (N,) int.
"""

from __future__ import annotations

import math

import numpy as np

from gdkit.checks._common import CheckFailed, call_student, passed, say
from gdkit.checks._common import as_scalar as scalar
from gdkit.tolerance import rel_error

TOL = 1e-5


def example_inputs():
    """Two images that each light one pixel, W with two non-zero weights, b = 0.5 everywhere."""
    import tensorflow as tf

    x = np.zeros((2, 784), np.float32)
    x[0, 0], x[1, 1] = 1.0, 1.0
    W = np.zeros((784, 10), np.float32)
    W[0, 3], W[1, 7] = 2.0, -1.0
    return tf.constant(x), tf.Variable(W), tf.Variable(np.full(10, 0.5, np.float32))


def check_logits_and_loss_example(logits, cross_entropy) -> None:
    """logits = x W + b on a hand-made example; cross-entropy of all-zero logits is ln 10."""
    import tensorflow as tf

    x, W, b = example_inputs()
    z = np.asarray(call_student(logits, x, W, b, name="logits"))
    expected = np.full((2, 10), 0.5, np.float32)
    expected[0, 3], expected[1, 7] = 2.5, -0.5
    if z.shape != (2, 10) or rel_error(z, expected) > TOL:
        first = np.atleast_1d(z)[:1]  # a 0-d answer has no first row
        raise CheckFailed(say(f"logits 應為 x·W + b,形狀 (2, 10);第一列應為 {expected[0]},卻得到 {first}。",
                              f"logits should be x·W + b with shape (2, 10); its first row should be "
                              f"{expected[0]}, got {first} (shape {z.shape}): multiply x by W (tf.matmul), then add b."))
    got = scalar(call_student(cross_entropy, tf.constant([3, 7]), tf.zeros((2, 10)),
                              name="cross_entropy"), "cross_entropy")
    if rel_error(got, math.log(10)) > TOL:
        raise CheckFailed(say(f"logits 全為 0 時,交叉熵應為 ln 10 ≈ 2.302585,卻得到 {got:.6f}。",
                              f"With all-zero logits the cross-entropy should be ln 10 ≈ 2.302585, got "
                              f"{got:.6f}: one-hot the labels (depth 10), take the softmax cross-entropy "
                              "of the logits, then the mean over the batch."))
    passed("logits on a hand-made example; cross-entropy of all-zero logits",
           "random inputs or confident predictions (hidden tests do)",
           "手算例子的 logits;logits 全為 0 時的交叉熵", "隨機的輸入或很有把握的預測(隱藏測試會檢查)")


def check_accuracy_example(accuracy) -> None:
    """Four labels, three predicted right: accuracy 0.75."""
    import tensorflow as tf

    z = np.zeros((4, 10), np.float32)
    for row, cls in enumerate([3, 7, 2, 0]):
        z[row, cls] = 1.0
    got = scalar(call_student(accuracy, tf.constant([3, 7, 1, 0]), tf.constant(z), name="accuracy"),
                 "accuracy")
    if abs(got - 0.75) > TOL:
        raise CheckFailed(say(f"四筆中猜對三筆,準確率應為 0.75,卻得到 {got}。",
                              f"Three of four predictions are right, so the accuracy is 0.75, got {got}: "
                              "compare tf.argmax(logits, axis=1) with the labels and take the mean."))
    passed("accuracy of four hand-made predictions", "other inputs (hidden tests do)",
           "四筆手算預測的準確率", "其他輸入(隱藏測試會檢查)")


def check_sgd_step_example(sgd_step) -> None:
    """Two steps from zero weights on one batch: the first returns ln 10, the second a lower loss."""
    import tensorflow as tf

    x, _, _ = example_inputs()
    y = tf.constant([3, 7])
    W = tf.Variable(tf.zeros((784, 10)))
    b = tf.Variable(tf.zeros((10,)))
    first = scalar(call_student(sgd_step, x, y, W, b, 0.5, name="sgd_step"), "sgd_step")
    if rel_error(first, math.log(10)) > TOL:
        raise CheckFailed(say(f"從零權重出發,`sgd_step` 應回傳更新前的損失 ln 10 ≈ 2.302585,卻回傳 {first:.6f}。",
                              f"From zero weights `sgd_step` should return the loss before the update, "
                              f"ln 10 ≈ 2.302585, got {first:.6f}."))
    if np.allclose(W.numpy(), 0) and np.allclose(b.numpy(), 0):
        raise CheckFailed(say("呼叫 `sgd_step` 之後 W 與 b 沒有改變:這一步要就地更新傳進來的 W、b(assign_sub);"
                              "tf.Variable(W) 做出的是副本,W = W − … 只換掉名字。",
                              "W and b are unchanged after a call of `sgd_step`: the step has to change the very "
                              "W and b it is given, in place (assign_sub); tf.Variable(W) makes a copy, and "
                              "W = W − … only rebinds a name."))
    second = scalar(call_student(sgd_step, x, y, W, b, 0.5, name="sgd_step"), "sgd_step")
    if second >= first:
        raise CheckFailed(say(f"一步之後損失從 {first:.4f} 升到 {second:.4f}:更新的正負號是否反了?",
                              f"The loss went up after one step, from {first:.4f} to {second:.4f}: "
                              "is the update's sign reversed (W ← W − lr·dW)?"))
    passed("two steps from zero weights: the loss starts at ln 10 and goes down",
           "that the step equals the reference update exactly (hidden tests do)",
           "從零權重走兩步:損失從 ln 10 開始並下降", "這一步是否與參考更新完全相同(隱藏測試會檢查)")


# ------------------------------------------------------------------------------------------------
# Probes: the grader calls these in your kernel (through gdkit.probe.serve) with inputs it chose,
# and judges the values they return outside your kernel. They only call your functions.
def probe_logits(logits, x, W, b) -> dict:
    """Your ``logits(x, W, b)`` for x (N, 784), W (784, 10), b (10,): ``z`` (N, 10)."""
    import tensorflow as tf

    z = call_student(logits, tf.constant(x, tf.float32), tf.Variable(np.asarray(W, np.float32)),
                     tf.Variable(np.asarray(b, np.float32)), name="logits")
    return {"z": np.asarray(z, np.float64)}


def probe_cross_entropy(cross_entropy, y, z) -> dict:
    """Your ``cross_entropy(y, z)`` for integer labels y (N,) and logits z (N, 10): ``loss`` ()."""
    import tensorflow as tf

    out = call_student(cross_entropy, tf.constant(np.asarray(y, np.int64)), tf.constant(z, tf.float32),
                       name="cross_entropy")
    return {"loss": scalar(out, "cross_entropy")}


def probe_accuracy(accuracy, y, z) -> dict:
    """Your ``accuracy(y, z)`` for integer labels y (N,) and logits z (N, 10): ``accuracy`` ()."""
    import tensorflow as tf

    out = call_student(accuracy, tf.constant(np.asarray(y, np.int64)), tf.constant(z, tf.float32),
                       name="accuracy")
    return {"accuracy": scalar(out, "accuracy")}


def stand_ins(s, t, T):
    """Stand-ins for ``logits`` and ``cross_entropy`` while the grader checks ``sgd_step`` alone:
    scores ``s·xW + t·b`` and the loss ``mean over the batch of ½‖z − T[y]‖²`` (T (10, 10)), whose
    gradients the grader knows. They are not the answers; they count their calls."""
    import tensorflow as tf

    calls = {"logits": 0, "cross_entropy": 0}
    table = tf.constant(np.asarray(T, np.float32))

    def logits(x, W, b):
        calls["logits"] += 1
        return float(s) * tf.matmul(x, W) + float(t) * b

    def cross_entropy(y_true, z):
        calls["cross_entropy"] += 1
        target = tf.gather(table, tf.cast(y_true, tf.int32))
        return tf.reduce_mean(0.5 * tf.reduce_sum(tf.square(z - target), axis=1))

    return {"logits": logits, "cross_entropy": cross_entropy}, calls


def probe_sgd_step(sgd_step, x, y, W, b, lr, compiled, stand_in=False, s=1.0, t=1.0, T=None) -> dict:
    """One call of your ``sgd_step`` (compiled or not) from W (784, 10), b (10,) on a batch x (N, 784),
    y (N,): ``W`` and ``b`` after it, the ``returned`` loss, and how many variables it ``created``.

    With ``stand_in``, your ``logits`` and ``cross_entropy`` are replaced during the call by
    ``stand_ins(s, t, T)`` (so that a mistake in them is not charged to ``sgd_step`` again);
    ``calls`` says how often each was called (0: your step computes them itself).
    """
    import tensorflow as tf

    Wv, bv = tf.Variable(np.asarray(W, np.float32)), tf.Variable(np.asarray(b, np.float32))
    fn = tf.function(sgd_step) if bool(compiled) else sgd_step
    names = getattr(getattr(sgd_step, "python_function", sgd_step), "__globals__", {})
    replaced, calls = stand_ins(s, t, T) if bool(stand_in) else ({}, {})
    saved = {name: names[name] for name in replaced if name in names}
    names.update(replaced)
    created = []

    def count(next_creator, **kwargs):  # variables your step makes (a tf.Variable(W) copy, say)
        created.append(kwargs.get("name"))
        return next_creator(**kwargs)

    try:
        with tf.variable_creator_scope(count):
            out = call_student(fn, tf.constant(x, tf.float32), tf.constant(np.asarray(y, np.int64)), Wv, bv,
                               float(lr), name="sgd_step")
    finally:
        for name in replaced:
            names.pop(name, None)
        names.update(saved)
    return {"W": Wv.numpy(), "b": bv.numpy(), "returned": scalar(out, "sgd_step"),
            "calls": np.array([calls.get("logits", 0), calls.get("cross_entropy", 0)]), "created": len(created)}
