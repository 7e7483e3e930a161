"""Hidden checks and reference code for exercise 2, MNIST with a GradientTape loop."""

from __future__ import annotations

import functools

import numpy as np

from autograde.mnist_common import MLP_SHAPES, accuracy_of, grader_data, mlp_forward, threshold
from gdkit.checks._common import CheckFailed, call_student, say
from gdkit.checks.mnist_mlp import LOSS_TOL, ONE_HOT_HINT, fixed_batch, scalar, scripted_run, tiny_model
from gdkit.tolerance import rel_error


def reference_loss(y_true, y_pred):
    """Mean categorical cross-entropy of one-hot ``y_true`` (N, C) and probabilities (N, C)."""
    import tensorflow as tf

    return tf.reduce_mean(tf.keras.losses.categorical_crossentropy(y_true, y_pred))


def loss_matches_reference(mnist_loss, seed: int = 0) -> None:
    """The loss equals Keras' cross-entropy on random batches of 10 classes."""
    import tensorflow as tf

    rng = np.random.default_rng(2000 + seed)
    for n in (64, 7):
        y_true = tf.one_hot(rng.integers(0, 10, n), 10)
        y_pred = tf.nn.softmax(tf.constant(rng.normal(size=(n, 10)).astype(np.float32) * 3))
        expected = float(reference_loss(y_true, y_pred))
        got = scalar(call_student(mnist_loss, y_true, y_pred, name="mnist_loss", hint=ONE_HOT_HINT), "mnist_loss")
        if rel_error(got, expected) > LOSS_TOL:
            raise CheckFailed(say(
                f"在 {n} 張圖的隨機批次上,損失應為 {expected:.6f},卻得到 {got:.6f}。",
                f"On a random batch of {n} images the loss should be {expected:.6f}, got {got:.6f}: "
                "the labels are one-hot (N, 10); use categorical (not sparse) cross-entropy, "
                "averaged over the batch.",
            ))


def step_lowers_loss(train_step, seed: int = 0) -> None:
    """Compiled steps of the lesson's network on one fixed batch lower its loss."""
    import tensorflow as tf

    model = tf.keras.Sequential([
        tf.keras.layers.Input((28, 28)), tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation="relu"), tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10, activation="softmax")])
    optimizer = tf.keras.optimizers.Adam(1e-3)
    x, y = fixed_batch(64, seed)
    before_w = [w.numpy().copy() for w in model.trainable_variables]
    before = float(reference_loss(y, model(x, training=False)))
    step = tf.function(lambda: train_step(model, optimizer, reference_loss, x, y))
    for _ in range(10):
        returned = call_student(step, name="train_step")
    after = float(reference_loss(y, model(x, training=False)))
    if all(np.array_equal(a, w.numpy()) for a, w in zip(before_w, model.trainable_variables, strict=True)):
        raise CheckFailed(say("十步之後權重沒有改變:是否呼叫了 `optimizer.apply_gradients`?",
                              "The weights did not change after ten steps: did you call "
                              "`optimizer.apply_gradients(zip(grads, model.trainable_variables))`?"))
    if not after < 0.9 * before:
        raise CheckFailed(say(
            f"同一批資料走十步後,損失從 {before:.4f} 變成 {after:.4f},應明顯下降。",
            f"Ten steps on one batch took its loss from {before:.4f} to {after:.4f}; it should fall "
            "clearly: use the loss_fn argument, gradients of model.trainable_variables, and "
            "apply them once per step.",
        ))
    if not np.isfinite(scalar(returned, "train_step")):
        raise CheckFailed(say("`train_step` 回傳的損失不是有限值。",
                              "`train_step` returned a loss that is not finite."))


def training_mode(train_step, seed: int = 0) -> None:
    """The step calls the model in training mode, eagerly and compiled."""
    import tensorflow as tf

    seen = []

    class Spy(tf.keras.layers.Layer):
        def call(self, inputs, training=None):
            seen.append(training)
            return inputs

    x, y = fixed_batch(8, seed)
    for compiled in (False, True):
        model = tiny_model([Spy()])
        seen.clear()  # building the model calls the layer symbolically, with training=None
        fn = functools.partial(train_step, model, tf.keras.optimizers.Adam(1e-3), reference_loss, x, y)
        call_student(tf.function(fn) if compiled else fn, name="train_step")
        if not seen or not all(t is not None and bool(t) for t in seen):
            raise CheckFailed(say(
                "訓練步驟沒有以 `training=True` 呼叫模型,Dropout 不會作用。",
                "The training step does not call the model with `training=True`, so Dropout never "
                f"acts (the model saw training={seen[-1] if seen else None}).",
            ))


#: (validation losses, patience, epoch after which training stops or None, best epoch)
STOPPING_CASES = (
    ([1.0, 0.8, 0.9, 0.95], 2, 4, 2),
    ([3.0, 2.0, 1.0, 0.5], 1, None, 4),
    ([1.0, 1.0, 1.0], 2, 3, 1),
    ([5.0, 4.0, 4.5, 3.0, 3.5, 3.6, 3.7, 2.0], 3, 7, 4),
    ([2.0, 2.5, 1.5, 1.6], 1, 2, 1),
)


def early_stopping_cases(EarlyStopping, seed: int = 0) -> None:
    """On scripted validation losses the stopper stops at the right epoch and restores the best weights."""
    for losses, patience, stop_epoch, best_epoch in STOPPING_CASES:
        stopper, model, stopped = scripted_run(EarlyStopping, patience, losses)
        if stopped != stop_epoch:
            raise CheckFailed(say(
                f"耐心值 {patience}、驗證損失 {losses}:應在第 {stop_epoch} 個 epoch 後停止,結果是 {stopped}。",
                f"Patience {patience}, validation losses {losses}: training should stop after epoch "
                f"{stop_epoch}, got {stopped}. Only a strictly lower loss is an improvement; stop once "
                "`patience` epochs in a row bring none.",
            ))
        call_student(stopper.restore_best, model, name="EarlyStopping.restore_best")
        held = model.get_weights()[0].flat[0]
        if held != best_epoch:
            raise CheckFailed(say(
                f"驗證損失 {losses}:應還原第 {best_epoch} 個 epoch 的權重,模型卻是第 {held:g} 個的。",
                f"Validation losses {losses}: the weights of epoch {best_epoch} (the best) should be "
                f"restored, but the model holds those of epoch {held:g}.",
            ))


def mlp_accuracy(model, seed: int = 0) -> None:
    """The notebook's trained network reaches the accuracy threshold on the grader's own test set."""
    data = grader_data()
    minimum, described = threshold("mlp")
    try:
        acc = accuracy_of(lambda x: model(x, training=False), data.x_test, data.y_test)
    except Exception as exc:  # noqa: BLE001 - a broken model is the student's result
        raise CheckFailed(f"`model` could not classify the test images: {type(exc).__name__}: {exc}") from None
    if acc < minimum:
        raise CheckFailed(say(
            f"測試準確率 {acc:.4f},低於門檻 {minimum}。",
            f"Test accuracy {acc:.4f} is below the threshold {minimum} ({described}): "
            "check the loss, the training step and that the best weights were restored.",
        ))


def export_weights(model, seed: int = 0) -> dict[str, np.ndarray]:
    """The trained weights, for the grader to re-check outside the kernel."""
    return {f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}


def recheck_accuracy(arrays: dict[str, np.ndarray], seed: int = 0) -> None:
    """Outside the kernel: the exported weights reach the threshold on the grader's own data."""
    weights = [arrays[f"w{i}"] for i in range(len(arrays))]
    if tuple(w.shape for w in weights) != MLP_SHAPES:
        raise CheckFailed(f"The model's weights have shapes {[w.shape for w in weights]}, not the lesson's "
                          f"network {list(MLP_SHAPES)}: keep build_model() as given.")
    data = grader_data()
    minimum, described = threshold("mlp")
    acc = accuracy_of(lambda x: mlp_forward(weights, x), data.x_test, data.y_test)
    if acc < minimum:
        raise CheckFailed(f"Test accuracy {acc:.4f} is below the threshold {minimum} ({described}).")
