"""Visible checks for exercise 1 (a linear system solved by gradient descent).

Every check raises ``CheckFailed`` (an ``AssertionError``) with a bilingual message,
and prints one line saying what it did not check.
"""

from __future__ import annotations

import math

import numpy as np

from gdkit.checks._common import CheckFailed, call_student, passed, say, shown
from gdkit.checks._common import as_scalar as _as_scalar
from gdkit.tolerance import rel_error

#: The lesson's system x + y = 16, 10x + 25y = 250 (answer x=10, y=6).
LESSON_A = np.array([[1.0, 1.0], [10.0, 25.0]], dtype=np.float32)
LESSON_B = np.array([16.0, 250.0], dtype=np.float32)

#: Relative error allowed for a loss value computed in float32.
LOSS_TOL = 1e-5


def as_scalar(value, name: str) -> float:
    """The float inside a 0-d tensor; the losses of this exercise are sums."""
    return _as_scalar(value, name, reduce="tf.reduce_sum")


def _loss_hint(got: float, expected: float) -> str:
    """Name the likely bug behind a wrong loss value, from how it relates to the right one."""
    if expected and math.isclose(got, math.sqrt(expected), rel_tol=1e-4):
        return say("你算的是殘差的長度(開了根號),不是平方和。",
                   "You computed the length of the residual (a square root), not the sum of squares.")
    if expected and math.isclose(got, expected / 2, rel_tol=1e-4):
        return say("你算的是平均,不是總和:用 `tf.reduce_sum`。",
                   "You computed a mean, not a sum: use `tf.reduce_sum`.")
    if got < 0:
        return say("損失是負的:殘差是否忘了平方?",
                   "The loss is negative: did you forget to square the residuals?")
    return say("損失應為殘差 A·v − b 的平方和。",
               "The loss should be the sum of squared residuals A·v − b.")


def check_loss_known_points(linear_system_loss) -> None:
    """The loss of the lesson's system at (0, 0), (1, 2) and at the answer (10, 6)."""
    import tensorflow as tf

    A, b = tf.constant(LESSON_A), tf.constant(LESSON_B)
    for point, expected in (((0.0, 0.0), 62756.0), ((1.0, 2.0), 36269.0), ((10.0, 6.0), 0.0)):
        v = tf.Variable(point, dtype=tf.float32)
        got = as_scalar(call_student(linear_system_loss, A, b, v, name="linear_system_loss"),
                        "linear_system_loss")
        if rel_error(got, expected) > LOSS_TOL:
            raise CheckFailed(
                say(f"在 (x, y) = {point},損失應為 {expected:g},卻得到 {got:g}。",
                    f"At (x, y) = {point} the loss should be {expected:g}, got {got:g}.")
                + "\n" + _loss_hint(got, expected)
            )
    passed("the loss at (0, 0), (1, 2) and (10, 6) of x+y=16, 10x+25y=250",
           "other systems, or that the loss can be differentiated (hidden tests do)",
           "x+y=16、10x+25y=250 在 (0, 0)、(1, 2)、(10, 6) 的損失", "其他方程組,或損失能否微分(隱藏測試會檢查)")


def check_step_lowers_loss(gradient_step) -> None:
    """One Adam step from (1, 2) on the lesson's system returns the loss and lowers it."""
    import tensorflow as tf

    A, b = tf.constant(LESSON_A), tf.constant(LESSON_B)
    v = tf.Variable([1.0, 2.0], dtype=tf.float32)

    def loss_fn():
        r = tf.linalg.matvec(A, v) - b
        return tf.reduce_sum(r * r)

    before = float(loss_fn())
    returned = call_student(gradient_step, loss_fn, [v], tf.keras.optimizers.Adam(0.1),
                            name="gradient_step")
    after = float(loss_fn())
    if np.allclose(v.numpy(), [1.0, 2.0]):
        raise CheckFailed(say("一步之後 (x, y) 沒有改變:是否呼叫了 `optimizer.apply_gradients`?",
                              "(x, y) did not change after one step: "
                              "did you call `optimizer.apply_gradients`?"))
    if after >= before:
        raise CheckFailed(say(f"一步之後損失從 {before:g} 升到 {after:g}:梯度的正負號是否反了?",
                              f"The loss went up after one step, from {before:g} to {after:g}: "
                              "is the gradient step's sign reversed?"))
    if returned is None or rel_error(as_scalar(returned, "gradient_step"), before) > LOSS_TOL:
        raise CheckFailed(say(f"`gradient_step` 應回傳更新前的損失 {before:g},卻回傳 {shown(returned)}。",
                              f"`gradient_step` should return the loss before the update, {before:g}, "
                              f"got {shown(returned)}."))
    passed("one Adam step from (1, 2) lowers the loss and returns the loss before the step",
           "that the step equals the reference step exactly (hidden tests do)",
           "從 (1, 2) 走一步 Adam 會降低損失,並回傳這一步之前的損失", "這一步是否與參考步驟完全相同(隱藏測試會檢查)")


def check_stop_rule_examples(should_stop) -> None:
    """The stopping rule on three hand-made pairs of losses."""
    cases = (
        (5.0, math.inf, 1e-8, False, "the first epoch, where there is no previous loss"),
        (2.0, 2.0 + 5e-9, 1e-8, True, "a change of 5e-9, below the tolerance 1e-8"),
        (2.0, 3.0, 1e-8, False, "a drop of 1.0, far above the tolerance"),
    )
    for loss, previous, tol, expected, meaning in cases:
        got = call_student(should_stop, loss, previous, tol, name="should_stop")
        if bool(got) != expected:
            raise CheckFailed(
                say(f"should_stop({loss}, {previous}, {tol}) 應為 {expected},卻得到 {shown(got)}。",
                    f"should_stop({loss}, {previous}, {tol}) should be {expected}, got {shown(got)} "
                    f"({meaning}).")
                + "\n" + say("規則是 `|loss − previous_loss| < tol` 時停止。",
                             "The rule: stop when |loss − previous_loss| < tol.")
            )
    passed("three hand-made pairs of losses",
           "a loss that rises, or the rule inside the training loop (hidden tests do)",
           "三組手算的損失", "損失上升的情形,或訓練迴圈裡的規則(隱藏測試會檢查)")


# ------------------------------------------------------------------------------------------------
# Probes: the grader calls these in your kernel (through gdkit.probe.serve) with inputs it chose,
# and judges the values they return outside your kernel. They only call your functions.
def probe_loss(linear_system_loss, A, b, v) -> dict:
    """Your loss of ``A v = b`` at ``v`` (A (n, n), b (n,), v (n,)) and its gradient with respect to v.

    Returns ``loss`` (), ``grad`` (n,) (NaN when the loss cannot be differentiated).
    """
    import tensorflow as tf

    var = tf.Variable(np.asarray(v, np.float32))
    with tf.GradientTape() as recorder:  # records your loss, to differentiate it
        out = call_student(linear_system_loss, tf.constant(A, tf.float32), tf.constant(b, tf.float32), var,
                           name="linear_system_loss")
    loss = as_scalar(out, "linear_system_loss")
    grad = recorder.gradient(out, var) if isinstance(out, tf.Tensor) else None
    return {"loss": loss, "grad": np.full(var.shape, np.nan) if grad is None else grad.numpy()}


def _quadratic(Q, c, d, v):
    """``v·Qv − 2 c·v + d``: the sum of squared residuals, written from Q = AᵀA, c = Aᵀb, d = b·b."""
    import tensorflow as tf

    return tf.tensordot(v, tf.linalg.matvec(Q, v), 1) - 2.0 * tf.tensordot(c, v, 1) + d


def _optimizer(name: str, lr: float):
    import tensorflow as tf

    return {"sgd": tf.keras.optimizers.SGD, "adam": tf.keras.optimizers.Adam}[str(name)](float(lr))


def probe_steps(gradient_step, Q, c, d, v0, optimizer, lr, steps) -> dict:
    """``steps`` compiled calls of your step on the quadratic loss of (Q, c, d) from ``v0``.

    Returns ``v`` (steps, n) after each call and ``returned`` (steps,) (NaN when not a scalar).
    """
    import tensorflow as tf

    Q, c, d = (tf.constant(a, tf.float32) for a in (Q, c, d))
    v = tf.Variable(np.asarray(v0, np.float32))
    opt = _optimizer(optimizer, lr)
    def loss_fn():
        return _quadratic(Q, c, d, v)

    @tf.function
    def step():
        return gradient_step(loss_fn, [v], opt)

    points, returned = [], []
    for _ in range(int(steps)):
        out = call_student(step, name="gradient_step")
        points.append(v.numpy().copy())
        shape = tuple(getattr(out, "shape", (0,)))
        returned.append(float(np.asarray(out).reshape(())) if out is not None and shape in ((), (1,))
                        else np.nan)
    return {"v": np.stack(points), "returned": np.asarray(returned)}


def probe_solve(linear_system_loss, gradient_step, A, b, v0, epochs, lr) -> dict:
    """Gradient descent with your loss and step on R systems at once, Adam(lr), one shared step.

    A (R, n, n), b (R, n), v0 (R, n); ``epochs`` (R,): run r is read after its own number of
    epochs. Adam updates each number on its own, so this is R separate runs in one compiled loop.
    Returns ``v`` (R, n) and ``early`` (R, n), each run read after 10 epochs.
    """
    import tensorflow as tf

    A, b = tf.constant(A, tf.float32), tf.constant(b, tf.float32)
    v = tf.Variable(np.asarray(v0, np.float32))
    opt = tf.keras.optimizers.Adam(float(lr))
    runs = int(A.shape[0])

    def loss_fn():
        return tf.add_n([call_student(linear_system_loss, A[r], b[r], v[r], name="linear_system_loss")
                         for r in range(runs)])

    @tf.function
    def run(k):
        for _ in tf.range(k):
            gradient_step(loss_fn, [v], opt)

    epochs = np.asarray(epochs, np.int64)
    reads = sorted({10, *epochs.tolist()})
    final, early, done = np.zeros(v.shape, np.float32), None, 0
    for epoch in reads:
        call_student(run, tf.constant(epoch - done, tf.int64), name="gradient_step")
        done = epoch
        now = v.numpy()
        if epoch == 10:
            early = now.copy()
        final[epochs == epoch] = now[epochs == epoch]
    return {"v": final, "early": early}


def probe_should_stop(should_stop, loss, previous, tol, as_tensor) -> dict:
    """Your rule on pairs of losses: ``stop[i] = should_stop(loss[i], previous[i], tol[i])``;
    ``loss[i]`` is passed as a float64 tensor where ``as_tensor[i]``, else as a float."""
    import tensorflow as tf

    out = []
    for x, p, t, wrap in zip(loss, previous, tol, as_tensor, strict=True):
        value = tf.constant(float(x), tf.float64) if wrap else float(x)
        out.append(bool(call_student(should_stop, value, float(p), float(t), name="should_stop")))
    return {"stop": np.asarray(out)}


def probe_stop_epoch(should_stop, losses, tol) -> dict:
    """Your rule inside the loop on a recorded run: the first epoch (1-based) at which it says stop,
    with ``math.inf`` as the previous loss of epoch 1; 0 when it never does."""
    previous = math.inf
    for epoch, loss in enumerate(np.asarray(losses, np.float64).tolist(), 1):
        if call_student(should_stop, loss, previous, float(tol), name="should_stop"):
            return {"epoch": epoch}
        previous = loss
    return {"epoch": 0}
