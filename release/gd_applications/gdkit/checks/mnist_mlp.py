"""Visible checks for exercise 2 (MNIST with a GradientTape training loop)."""

from __future__ import annotations

import math

import numpy as np

from gdkit.checks._common import CheckFailed, call_student, passed, say, shown
from gdkit.checks._common import as_scalar as scalar
from gdkit.tolerance import rel_error

LOSS_TOL = 1e-5


def tiny_model(extra_layers=()):
    """A small classifier of 28×28 images for quick checks: Flatten, [extra], Dense(10, softmax)."""
    import tensorflow as tf

    return tf.keras.Sequential([tf.keras.layers.Input((28, 28)), tf.keras.layers.Flatten(),
                                *extra_layers, tf.keras.layers.Dense(10, activation="softmax")])


def fixed_batch(n: int = 32, seed: int = 0):
    """Random images (n, 28, 28) in [0, 1) and one-hot labels (n, 10), float32."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    x = rng.random((n, 28, 28)).astype(np.float32)
    y = tf.one_hot(rng.integers(0, 10, n), 10)
    return tf.constant(x), y


def check_loss_small_example(mnist_loss) -> None:
    """Cross-entropy of two hand-made predictions: mean(−ln 0.7, −ln 0.8) ≈ 0.2899."""
    import tensorflow as tf

    y_true = tf.constant([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    y_pred = tf.constant([[0.2, 0.7, 0.1], [0.1, 0.1, 0.8]])
    expected = (-math.log(0.7) - math.log(0.8)) / 2
    got = scalar(call_student(mnist_loss, y_true, y_pred, name="mnist_loss"), "mnist_loss")
    if rel_error(got, expected) > LOSS_TOL:
        hint = (say("你算的是總和,不是平均。", "You computed a sum, not a mean.")
                if math.isclose(got, 2 * expected, rel_tol=1e-4)
                else say("損失是負的,交叉熵不會是負的:−Σ y_true·ln(y_pred) 的負號是否漏了?",
                         "The loss is negative, which a cross-entropy never is: is the minus sign of "
                         "−Σ y_true·ln(y_pred) missing?")
                if math.isclose(got, -expected, rel_tol=1e-4)
                else say("交叉熵:−Σ y_true·ln(y_pred),再對整批取平均。",
                         "Cross-entropy: −Σ y_true·ln(y_pred) per image, then the mean over the batch."))
        raise CheckFailed(say(f"損失應為 {expected:.6f},卻得到 {got:.6f}。",
                              f"The loss should be {expected:.6f}, got {got:.6f}.") + "\n" + hint)
    passed("cross-entropy of two hand-made one-hot labels and predictions",
           "random batches of 10 classes (hidden tests do)",
           "兩筆手算的 one-hot 標籤與預測的交叉熵", "十類的隨機批次(隱藏測試會檢查)")


def _squared_error(y_true, y_pred):
    """Any differentiable loss serves to test a training step; this one is not the exercise's."""
    import tensorflow as tf

    return tf.reduce_mean(tf.square(y_true - y_pred))


def check_step_lowers_loss(train_step) -> None:
    """Five steps on one fixed batch lower the loss (here a squared error) of a small model."""
    import tensorflow as tf

    model = tiny_model()
    optimizer = tf.keras.optimizers.Adam(1e-3)
    x, y = fixed_batch()

    def loss_now():
        return float(_squared_error(y, model(x, training=False)))

    before = loss_now()
    for _ in range(5):
        returned = call_student(train_step, model, optimizer, _squared_error, x, y, name="train_step")
    after = loss_now()
    if after >= before:
        raise CheckFailed(say(f"五步之後,同一批資料的損失從 {before:.4f} 變成 {after:.4f},沒有下降。",
                              f"After five steps on one batch the loss went from {before:.4f} to "
                              f"{after:.4f}, not down: each step should apply the gradients of the loss with "
                              "respect to `model.trainable_variables` with `optimizer.apply_gradients`."))
    scalar(returned, "train_step")
    passed("five steps on one fixed batch lower the loss of a small model",
           "the lesson's network, or that the model runs in training mode",
           "同一批資料走五步,小模型的損失會下降", "課文的網路,或模型是否在訓練模式下執行")


def check_training_mode(train_step) -> None:
    """The step calls the model with training=True, so that Dropout acts."""
    import tensorflow as tf

    seen = []

    class Spy(tf.keras.layers.Layer):
        def call(self, inputs, training=None):
            seen.append(training)
            return inputs

    model = tiny_model([Spy()])
    seen.clear()  # building the model calls the layer symbolically, with training=None
    x, y = fixed_batch(8)
    call_student(train_step, model, tf.keras.optimizers.Adam(1e-3), _squared_error, x, y,
                 name="train_step")
    if not seen or not all(t is True or (t is not None and bool(t)) for t in seen):
        raise CheckFailed(say(
            "訓練時要呼叫 `model(x, training=True)`:否則 Dropout 不會作用(課文就漏了這一點)。",
            "Call the model as `model(x, training=True)` while training: without it Dropout never "
            f"acts (the lesson forgot it). The model saw training={shown(seen[-1]) if seen else None}.",
        ))
    passed("the model is called with training=True inside the step", "nothing else",
           "訓練步驟裡以 `training=True` 呼叫模型", "其他都沒有")


def scripted_run(EarlyStopping, patience: int, losses: list[float]):
    """Feed ``losses`` to a new stopper, one epoch each, the model's weights all set to the epoch number.

    Returns (stopper, model, the epoch after which it said stop, or None).
    """
    model = tiny_model()
    stopper = call_student(EarlyStopping, patience, name="EarlyStopping")
    for epoch, loss in enumerate(losses, 1):
        model.set_weights([np.full_like(w, epoch) for w in model.get_weights()])
        if call_student(stopper.step, loss, model, name="EarlyStopping.step"):
            return stopper, model, epoch
    return stopper, model, None


def check_early_stopping_example(EarlyStopping) -> None:
    """Patience 2 on validation losses 1.0, 0.8, 0.9, 0.95: stop after epoch 4, keep epoch 2's weights."""
    losses = [1.0, 0.8, 0.9, 0.95]
    stopper, model, stopped_at = scripted_run(EarlyStopping, 2, losses)
    if stopped_at != 4:
        raise CheckFailed(say(
            f"耐心值 2、驗證損失 {losses}:應在第 4 個 epoch 後停止,結果是 {stopped_at}。",
            f"With patience 2 and validation losses {losses} training should stop after epoch 4, "
            f"got {stopped_at}: stop once the loss has not improved for `patience` epochs in a row.",
        ))
    call_student(stopper.restore_best, model, name="EarlyStopping.restore_best")
    got = model.get_weights()[0].flat[0]
    if got != 2:
        raise CheckFailed(say(
            f"應還原第 2 個 epoch(最佳)的權重,模型卻是第 {got:g} 個 epoch 的權重。",
            f"The best weights (epoch 2) should be restored, but the model holds those of epoch "
            f"{got:g}: save `model.get_weights()` when the loss improves and `set_weights` them back.",
        ))
    passed("stopping and restoring on one hand-made sequence", "other sequences or patiences (hidden)",
           "一組手算序列上的停止與還原", "其他序列或耐心值(隱藏測試會檢查)")


# ------------------------------------------------------------------------------------------------
# Probes: the grader calls these in your kernel (through gdkit.probe.serve) with inputs it chose,
# and judges the values they return outside your kernel. They only call your functions.
def probe_loss(mnist_loss, y_true, y_pred) -> dict:
    """Your loss of one-hot labels ``y_true`` (N, C) and probabilities ``y_pred`` (N, C): ``loss`` ()."""
    import tensorflow as tf

    out = call_student(mnist_loss, tf.constant(y_true, tf.float32), tf.constant(y_pred, tf.float32),
                       name="mnist_loss")
    return {"loss": scalar(out, "mnist_loss")}


def lesson_model():
    """The lesson's network: Flatten, Dense(128, relu), Dropout(0.2), Dense(10, softmax)."""
    import tensorflow as tf

    return tf.keras.Sequential([
        tf.keras.layers.Input((28, 28)), tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation="relu"), tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10, activation="softmax")])


def normalized_model():
    """Flatten, BatchNormalization, Dense(10, softmax): its moving mean moves only in training mode."""
    import tensorflow as tf

    return tiny_model([tf.keras.layers.BatchNormalization()])


def _run_steps(train_step, model, weights, x, y, steps, compiled, optimizer=None):
    import tensorflow as tf

    model.set_weights([np.asarray(w) for w in weights])
    optimizer = optimizer or tf.keras.optimizers.Adam(1e-3)
    x, y = tf.constant(x, tf.float32), tf.constant(y, tf.float32)
    fn = (tf.function(lambda: train_step(model, optimizer, _squared_error, x, y)) if compiled
          else lambda: train_step(model, optimizer, _squared_error, x, y))
    returned = []
    for _ in range(int(steps)):
        out = call_student(fn, name="train_step")
        shape = tuple(getattr(out, "shape", (0,)))
        returned.append(float(np.asarray(out).reshape(())) if out is not None and shape in ((), (1,)) else np.nan)
    result = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    result["returned"] = np.asarray(returned)
    return result


def plain_model():
    """The lesson's network without Dropout (the same weights), so that a step can be recomputed exactly."""
    import tensorflow as tf

    return tf.keras.Sequential([
        tf.keras.layers.Input((28, 28)), tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation="relu"), tf.keras.layers.Dense(10, activation="softmax")])


def probe_train(train_step, w0, w1, w2, w3, x, y, steps, lr) -> dict:
    """``steps`` compiled calls of your step on ``plain_model()`` from weights w0…w3, SGD(lr), a
    squared-error loss, one batch x (N, 28, 28), y (N, 10): the weights after, ``returned`` losses."""
    import tensorflow as tf

    return _run_steps(train_step, plain_model(), [w0, w1, w2, w3], x, y, steps, True,
                      tf.keras.optimizers.SGD(float(lr)))


def probe_training_mode(train_step, weights, x, y, compiled) -> dict:
    """One call of your step (compiled or not) on ``normalized_model()`` set to ``weights`` (the
    model's weights concatenated, flat): the weights after (moving statistics included)."""
    model = normalized_model()
    flat, parts = np.asarray(weights, np.float32), []
    for w in model.get_weights():
        parts.append(flat[:w.size].reshape(w.shape))
        flat = flat[w.size:]
    return _run_steps(train_step, model, parts, x, y, 1, bool(compiled))


def probe_early_stopping(EarlyStopping, losses, patience) -> dict:
    """Your stopper on scripted validation losses: the epoch after which it said stop (0: never) and
    the epoch whose weights the model holds after ``restore_best``."""
    stopper, model, stopped = scripted_run(EarlyStopping, int(patience), [float(v) for v in losses])
    call_student(stopper.restore_best, model, name="EarlyStopping.restore_best")
    return {"stopped": stopped or 0, "held": float(model.get_weights()[0].flat[0])}
