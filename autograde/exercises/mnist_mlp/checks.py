"""Checks of exercise 2: each probes the student's kernel and judges here, against NumPy."""

from __future__ import annotations

import numpy as np

from autograde.assignment import diagnose
from autograde.assignment.returned import Value
from autograde.exercises import mnist_data
from autograde.exercises.mnist_mlp import mistakes
from autograde.exercises.mnist_mlp import reference as ref
from gdkit.checks import mnist_mlp as visible
from gdkit.checks._common import CheckFailed, say
from gdkit.tolerance import rel_error

PROBES = "gdkit.checks.mnist_mlp"
#: The lesson's network's weights, as the grader expects them back.
MLP_WEIGHTS = {f"w{i}": Value(shape) for i, shape in enumerate(ref.MLP_SHAPES)}
KEEP_THE_MODEL = say("請保留給定的 build_model()。", "Keep build_model() as given.")
#: Steps, learning rate and tolerance of the exact step check: the largest error of the weights
#: after the steps, relative to the largest move the grader's own steps make (float32 vs float64).
STEPS, STEP_LR, STEP_TOL = 3, 0.5, 1e-3

#: The notebook these checks grade.
NOTEBOOK = "02_mnist_gradient_tape"


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
              "兩筆手算的預測", "two hand-made predictions")]
    for n in (64, 7):
        logits = rng.normal(size=(n, 10)) * 3
        cases.append((np.eye(10)[rng.integers(0, 10, n)], ref.softmax(logits), f"隨機的一批 {n} 張圖",
                      f"a random batch of {n} images"))
    for y_true, y_pred, what_zh, what in cases:
        got = kernel.call(f"{PROBES}:probe_loss", ("mnist_loss",), {"loss": Value()},
                          y_true=y_true.astype(np.float32), y_pred=y_pred.astype(np.float32))
        loss, expected = float(got["loss"]), ref.cross_entropy(y_true, y_pred)
        if not rel_error(loss, expected) <= visible.LOSS_TOL:
            cause = diagnose.which(loss, mistakes.loss_variants(y_true, y_pred), rtol=1e-4)
            hint = (cause.text if cause
                    else say("交叉熵是每張圖的 −Σ y_true·ln(y_pred)(y_true 是 one-hot 標籤,y_pred 是機率),再對整批取平均。",
                             "The cross-entropy is −Σ y_true·ln(y_pred) per image (y_true one-hot labels, "
                             "y_pred probabilities), averaged over the batch."))
            raise CheckFailed(say(f"在{what_zh}上,損失應為 {expected:.6f},卻得到 {loss:.6f}。",
                                  f"On {what} the loss should be {expected:.6f}, got {loss:.6f}.") + "\n" + hint)


def step_lowers_loss(kernel, seed: int) -> None:
    """Compiled steps of the lesson's network (without Dropout) on one fixed batch, with the grader's
    loss and SGD, equal the grader's own steps and return the loss before each."""
    rng = _rng(seed, 1)
    weights = ref.initial_weights(rng)
    x, y = _batch(rng, 64)
    got = kernel.call(f"{PROBES}:probe_train", ("train_step",),
                      {**MLP_WEIGHTS, "returned": Value((STEPS,), finite=False)}, KEEP_THE_MODEL,
                      w0=weights[0], w1=weights[1], w2=weights[2], w3=weights[3], x=x, y=y, steps=STEPS, lr=STEP_LR)
    after = [got[f"w{i}"] for i in range(4)]
    if all(np.array_equal(a, w) for a, w in zip(weights, after, strict=True)):
        raise CheckFailed(say(f"走了 {STEPS} 步之後,權重與開始時完全相同:每一步都要用傳入的 optimizer 更新模型的變數"
                              "(optimizer.apply_gradients(zip(grads, model.trainable_variables)))。",
                              f"The weights are the same after {STEPS} steps as before them: each step must update "
                              "the model's variables with the optimizer passed in "
                              "(optimizer.apply_gradients(zip(grads, model.trainable_variables)))."))
    want, losses = ref.sgd_steps(weights, x, y, STEP_LR, STEPS)
    err = max(float(np.max(np.abs(a - w))) / max(float(np.max(np.abs(w - w0))), 1e-12)
              for a, w, w0 in zip(after, want, weights, strict=True))
    if not err <= STEP_TOL:
        before, now = ref.squared_error(weights, x, y), ref.squared_error(after, x, y)
        went = (say("損失反而上升:更新的正負號是否反了?", "The loss went up: is the update's sign reversed?")
                if now > before else
                say("請對 model.trainable_variables 求 loss_fn 的梯度,每一步只套用一次 optimizer。",
                    "Take the gradients of loss_fn(y, model(x, training=True)) with respect to "
                    "model.trainable_variables and apply them once per step with the given optimizer."))
        raise CheckFailed(say(
            f"同一批資料走 {STEPS} 步 SGD({STEP_LR}) 後,權重與評分程式自己的步驟不同(相對誤差 {err:.1e})。",
            f"After {STEPS} steps of SGD({STEP_LR}) on one batch the weights differ from the grader's own "
            f"steps (error {err:.1e} of the largest move, allowed {STEP_TOL:.0e}); the loss went from "
            f"{before:.5f} to {now:.5f}, the grader's steps take it to {ref.squared_error(want, x, y):.5f}.")
            + "\n" + went)
    returned = got["returned"]
    if not rel_error(returned, losses) <= visible.LOSS_TOL:
        shown = ", ".join("not a scalar" if not np.isfinite(r) else f"{r:.6f}" for r in returned)
        shown_zh = "、".join("非純量" if not np.isfinite(r) else f"{r:.6f}" for r in returned)
        raise CheckFailed(say(f"`train_step` 應回傳每一步更新前這一批的損失 {np.round(losses, 6).tolist()},卻回傳 {shown_zh}。",
                              f"`train_step` should return the batch's loss before each update, "
                              f"{np.round(losses, 6).tolist()}, got {shown}."))


def training_mode(kernel, seed: int) -> None:
    """The step calls the model in training mode, eagerly and compiled: a BatchNormalization layer's
    moving mean moves by (1 − momentum) × the batch mean only when it is called with training=True."""
    rng = _rng(seed, 2)
    weights = ref.bn_initial_weights(rng)
    x, y = _batch(rng, 16)
    expected = (1 - ref.BN_MOMENTUM) * x.reshape(len(x), -1).astype(np.float64).mean(axis=0)
    for compiled in (False, True):
        got = kernel.call(f"{PROBES}:probe_training_mode", ("train_step",),
                          {**{f"w{i}": Value(shape) for i, shape in enumerate(ref.BN_SHAPES)},
                           "returned": Value((1,), finite=False)},
                          weights=np.concatenate([w.ravel() for w in weights]), x=x, y=y, compiled=compiled)
        moving_mean = got["w2"]
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
                          {"stopped": Value(kind="int"), "held": Value()}, losses=np.asarray(losses), patience=patience)
        stopped, held = int(got["stopped"]), float(got["held"])
        want_stop, best = ref.early_stopping(losses, patience)
        if stopped != want_stop:
            shown = lambda e: e if e else "never"  # noqa: E731
            shown_zh = lambda e: f"在第 {e} 個 epoch 後停止" if e else "不停止"  # noqa: E731
            raise CheckFailed(say(
                f"耐心值 {patience}、驗證損失 {losses}:應{shown_zh(want_stop)},結果卻{shown_zh(stopped)}。",
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
    got = kernel.call("gdkit.probe:weights", ("model",), MLP_WEIGHTS, KEEP_THE_MODEL)
    minimum, described = threshold()
    acc = _accuracy(got)
    if not acc >= minimum:
        raise CheckFailed(say(
            f"測試準確率 {acc:.4f},低於門檻 {minimum}。",
            f"Test accuracy {acc:.4f} is below the threshold {minimum} ({described}): check the loss, the "
            "training step and that the best weights were restored."))


def threshold() -> tuple[float, str]:
    """The minimum test accuracy, relative to the grader's own run of the source notebook."""
    return mnist_data.threshold(NOTEBOOK, "gdkit.probe:weights", ("model",), MLP_WEIGHTS, _accuracy)


def _accuracy(values: dict) -> float:
    """Accuracy of the lesson's network with weights w0…w3 on the grader's held-out images, which
    the kernel never sees (``mnist_data.held_out``)."""
    x, y = mnist_data.held_out()
    weights = [values[f"w{i}"] for i in range(4)]
    return mnist_data.accuracy_of(lambda xb: ref.mlp_forward(weights, xb), x, y)
