"""Checks of exercise 2: each probes the student's kernel and judges here, against NumPy."""

from __future__ import annotations

import numpy as np

from autograde import diagnose
from autograde.exercises import mnist_data
from autograde.exercises.mnist_mlp import mistakes
from autograde.exercises.mnist_mlp import reference as ref
from gdkit.checks import mnist_mlp as visible
from gdkit.checks._common import CheckFailed, say
from gdkit.tolerance import rel_error

PROBES = "gdkit.checks.mnist_mlp"


def _rng(seed: int, offset: int) -> np.random.Generator:
    return np.random.default_rng(2000 + 100 * offset + seed)


def _batch(rng, n: int):
    """Random images (n, 28, 28) in [0, 1) and one-hot labels (n, 10), float32."""
    x = rng.random((n, 28, 28)).astype(np.float32)
    return x, np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]


def loss_value(kernel, seed: int) -> None:
    """The loss is the mean categorical cross-entropy: the notebook's example, then random batches."""
    rng = _rng(seed, 0)
    cases = [(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), np.array([[0.2, 0.7, 0.1], [0.1, 0.1, 0.8]]),
              "two hand-made predictions")]
    for n in (64, 7):
        logits = rng.normal(size=(n, 10)) * 3
        cases.append((np.eye(10)[rng.integers(0, 10, n)], ref.softmax(logits), f"a random batch of {n} images"))
    for y_true, y_pred, what in cases:
        got = kernel.call(f"{PROBES}:probe_loss", ("mnist_loss",), y_true=y_true.astype(np.float32),
                          y_pred=y_pred.astype(np.float32))
        loss, expected = float(got["loss"]), ref.cross_entropy(y_true, y_pred)
        if not rel_error(loss, expected) <= visible.LOSS_TOL:
            cause = diagnose.which(loss, mistakes.loss_variants(y_true, y_pred), rtol=1e-4)
            hint = (cause.text if cause
                    else say("標籤是 one-hot (N, 10):請用 categorical(不是 sparse)交叉熵,對整批取平均。",
                             "The labels are one-hot (N, 10): use the categorical (not the sparse) "
                             "cross-entropy, −Σ y_true·ln(y_pred) per image, averaged over the batch."))
            raise CheckFailed(say(f"{what}:損失應為 {expected:.6f},卻得到 {loss:.6f}。",
                                  f"On {what} the loss should be {expected:.6f}, got {loss:.6f}.") + "\n" + hint)


def step_lowers_loss(kernel, seed: int) -> None:
    """Ten compiled steps of the lesson's network on one fixed batch lower its loss clearly."""
    rng = _rng(seed, 1)
    weights = ref.initial_weights(rng)
    x, y = _batch(rng, 64)
    got = kernel.call(f"{PROBES}:probe_train", ("train_step",), w0=weights[0], w1=weights[1],
                      w2=weights[2], w3=weights[3], x=x, y=y, steps=10)
    after_w = [np.asarray(got.get(f"w{i}")) for i in range(4)]
    if tuple(w.shape for w in after_w) != ref.MLP_SHAPES:
        raise CheckFailed(f"the network's weights came back with shapes {[w.shape for w in after_w]}")
    if all(np.array_equal(a, w) for a, w in zip(weights, after_w, strict=True)):
        raise CheckFailed(say("十步之後權重沒有改變:是否呼叫了 `optimizer.apply_gradients`?",
                              "The weights did not change after ten steps: did you call "
                              "`optimizer.apply_gradients(zip(grads, model.trainable_variables))`?"))
    before, after = ref.squared_error(weights, x, y), ref.squared_error(after_w, x, y)
    if not after < 0.9 * before:
        raise CheckFailed(say(
            f"同一批資料走十步後,損失從 {before:.4f} 變成 {after:.4f},應明顯下降。",
            f"Ten steps on one batch took its loss from {before:.4f} to {after:.4f}; it should fall "
            "clearly: use the loss_fn argument, gradients of model.trainable_variables, and apply them "
            "once per step (is the update's sign reversed?)."))
    returned = np.asarray(got["returned"], np.float64)
    if returned.shape != (10,) or not np.all(np.isfinite(returned)):
        raise CheckFailed(say("`train_step` 應回傳這一批的損失(純量)。",
                              "`train_step` should return the batch's loss, a finite scalar."))


def training_mode(kernel, seed: int) -> None:
    """The step calls the model in training mode, eagerly and compiled: a BatchNormalization layer's
    moving mean moves by (1 − momentum) × the batch mean only when it is called with training=True."""
    rng = _rng(seed, 2)
    weights = ref.bn_initial_weights(rng)
    x, y = _batch(rng, 16)
    expected = (1 - ref.BN_MOMENTUM) * x.reshape(len(x), -1).astype(np.float64).mean(axis=0)
    for compiled in (False, True):
        got = kernel.call(f"{PROBES}:probe_training_mode", ("train_step",),
                          weights=np.concatenate([w.ravel() for w in weights]), x=x, y=y, compiled=compiled)
        moving_mean = np.asarray(got.get("w2", np.zeros(0)), np.float64)
        if moving_mean.shape != (784,):
            raise CheckFailed(f"the model's weights came back with the wrong shapes ({moving_mean.shape})")
        if not rel_error(moving_mean, expected, floor=1e-3) <= 1e-2:
            how = "compiled with tf.function" if compiled else "called eagerly"
            raise CheckFailed(say(
                "訓練步驟沒有以 `training=True` 呼叫模型,Dropout 不會作用。",
                f"The training step ({how}) does not call the model with `training=True`: layers that "
                "act only while training (Dropout, BatchNormalization) never act."))


STOPPING_CASES = (  # (validation losses, patience), the notebook's example first
    ([1.0, 0.8, 0.9, 0.95], 2), ([3.0, 2.0, 1.0, 0.5], 1), ([1.0, 1.0, 1.0], 2),
    ([5.0, 4.0, 4.5, 3.0, 3.5, 3.6, 3.7, 2.0], 3), ([2.0, 2.5, 1.5, 1.6], 1),
)


def early_stopping(kernel, seed: int) -> None:
    """On scripted validation losses (hand-made and random) the stopper stops at the right epoch and
    restores the best epoch's weights."""
    rng = _rng(seed, 3)
    cases = [(list(losses), patience) for losses, patience in STOPPING_CASES]
    for _ in range(4):
        cases.append((np.round(rng.uniform(0.5, 2.0, size=int(rng.integers(4, 9))), 2).tolist(),
                      int(rng.integers(1, 4))))
    for losses, patience in cases:
        got = kernel.call(f"{PROBES}:probe_early_stopping", ("EarlyStopping",),
                          losses=np.asarray(losses), patience=patience)
        stopped, held = int(np.asarray(got["stopped"]).reshape(())), float(np.asarray(got["held"]).reshape(()))
        want_stop, best = ref.early_stopping(losses, patience)
        if stopped != want_stop:
            shown = lambda e: e if e else "never"  # noqa: E731
            raise CheckFailed(say(
                f"耐心值 {patience}、驗證損失 {losses}:應在第 {shown(want_stop)} 個 epoch 後停止,結果是 {shown(stopped)}。",
                f"Patience {patience}, validation losses {losses}: training should stop after epoch "
                f"{shown(want_stop)}, got {shown(stopped)}. Only a strictly lower loss is an improvement; "
                "stop once `patience` epochs in a row bring none."))
        if held != best:
            raise CheckFailed(say(
                f"驗證損失 {losses}:應還原第 {best} 個 epoch 的權重,模型卻是第 {held:g} 個的。",
                f"Validation losses {losses}: the weights of epoch {best} (the best) should be restored, "
                f"but the model holds those of epoch {held:g}."))


def mlp_accuracy(kernel, seed: int) -> None:
    """The notebook's trained network reaches the accuracy threshold on the grader's own test set."""
    got = kernel.call("gdkit.probe:weights", ("model",))
    weights = [np.asarray(got.get(f"w{i}", np.zeros(0))) for i in range(len(got))]
    if tuple(w.shape for w in weights) != ref.MLP_SHAPES:
        raise CheckFailed(f"The model's weights have shapes {[w.shape for w in weights]}, not the lesson's "
                          f"network {list(ref.MLP_SHAPES)}: keep build_model() as given.")
    minimum, described = threshold()
    acc = _accuracy(got)
    if not acc >= minimum:
        raise CheckFailed(say(
            f"測試準確率 {acc:.4f},低於門檻 {minimum}。",
            f"Test accuracy {acc:.4f} is below the threshold {minimum} ({described}): check the loss, the "
            "training step and that the best weights were restored."))


def threshold() -> tuple[float, str]:
    """The minimum test accuracy, relative to the grader's own run of the source notebook."""
    from autograde.exercises.mnist_mlp import NOTEBOOK

    return mnist_data.threshold(NOTEBOOK, "gdkit.probe:weights", ("model",), _accuracy)


def _accuracy(values: dict) -> float:
    """Test accuracy on the grader's data of the lesson's network with weights w0…w3."""
    data = mnist_data.grader_data()
    weights = [values[f"w{i}"] for i in range(4)]
    return mnist_data.accuracy_of(lambda x: ref.mlp_forward(weights, x), data.x_test, data.y_test)
