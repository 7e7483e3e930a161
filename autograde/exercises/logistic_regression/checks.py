"""Checks of exercise 3: each probes the student's kernel and judges here, against NumPy."""

from __future__ import annotations

import math

import numpy as np

from autograde.assignment import diagnose
from autograde.assignment.returned import Value
from autograde.exercises import mnist_data
from autograde.exercises.logistic_regression import mistakes
from autograde.exercises.logistic_regression import reference as ref
from gdkit.checks import logistic_regression as visible
from gdkit.checks._common import CheckFailed, say
from gdkit.tolerance import rel_error

PROBES = "gdkit.checks.logistic_regression"
#: Steps averaged at each end of the recorded training losses ("smoothed windows").
WINDOW = 100

#: The notebook these checks grade.
NOTEBOOK = "03_logistic_regression"


def _failed(zh: str, en: str, cause: diagnose.Cause | None, hint: str) -> CheckFailed:
    """The message of a wrong value: what was expected and got, then the cause found, else ``hint``."""
    return CheckFailed(say(zh, en) + "\n" + (cause.text if cause else hint))


def _rng(seed: int, offset: int) -> np.random.Generator:
    return np.random.default_rng(3000 + 100 * offset + seed)


def _random_problem(rng, n: int = 50):
    x = rng.random((n, 784)).astype(np.float32)
    W = (rng.normal(size=(784, 10)) * 0.05).astype(np.float32)
    b = rng.normal(size=10).astype(np.float32)
    return x, W, b, rng.integers(0, 10, n)


def _example():
    """The notebook's hand-made example: two one-pixel images, two non-zero weights, b = 0.5."""
    x = np.zeros((2, 784), np.float32)
    x[0, 0], x[1, 1] = 1.0, 1.0
    W = np.zeros((784, 10), np.float32)
    W[0, 3], W[1, 7] = 2.0, -1.0
    return x, W, np.full(10, 0.5, np.float32)


def logits_and_loss(kernel, seed: int) -> None:
    """logits = x·W + b and the mean softmax cross-entropy, on the notebook's example and random inputs."""
    rng = _rng(seed, 0)
    x, W, b, y = _random_problem(rng)
    for xx, WW, bb, what_zh, what in ((*_example(), "手算的例子", "the hand-made example"),
                                      (x, W, b, "隨機的輸入", "random inputs")):
        expected = ref.logits(xx, WW, bb)
        z = kernel.call(f"{PROBES}:probe_logits", ("logits",), {"z": Value((None, None))}, x=xx, W=WW, b=bb)["z"]
        if z.shape != expected.shape or not rel_error(z, expected) <= 1e-4:
            raise _failed(f"在{what_zh}上,logits 與 x·W + b 不同(形狀 {z.shape},應為 {expected.shape})。",
                          f"On {what} the logits differ from x·W + b (shape {z.shape}, expected {expected.shape}).",
                          diagnose.which(z, mistakes.logits_variants(xx, WW, bb)),
                          say("先把 x 乘上 W(tf.matmul(x, W)),再加上 b。", "Multiply x by W (tf.matmul(x, W)), then add b."))
    cases = [(np.array([3, 7]), np.zeros((2, 10)), "全為 0 的 logits(ln 10 ≈ 2.302585)",
              "all-zero logits (ln 10 ≈ 2.302585)")]
    cases += [(y, rng.normal(size=(50, 10)) * scale, f"隨機的 logits(尺度 {scale:g})", f"random logits (scale {scale:g})")
              for scale in (1.0, 5.0)]
    for labels, zz, what_zh, what in cases:
        got = float(kernel.call(f"{PROBES}:probe_cross_entropy", ("cross_entropy",), {"loss": Value()},
                                y=labels, z=zz.astype(np.float32))["loss"])
        want = ref.cross_entropy(labels, zz.astype(np.float32))
        if not rel_error(got, want) <= visible.TOL:
            raise _failed(f"在{what_zh}上,交叉熵應為 {want:.6f},卻得到 {got:.6f}。",
                          f"On {what} the cross-entropy should be {want:.6f}, got {got:.6f}.",
                          diagnose.which(got, mistakes.cross_entropy_variants(labels, zz.astype(np.float32))),
                          say("把標籤轉成 one-hot 向量(深度 10),對 logits 做一次 softmax 交叉熵,再對整批平均。",
                              "One-hot the labels (depth 10), apply softmax to the logits once "
                              "(tf.nn.softmax_cross_entropy_with_logits does), then average over the batch."))


def accuracy_value(kernel, seed: int) -> None:
    """accuracy is the fraction of argmax predictions equal to the labels: the notebook's four, random ones."""
    rng = _rng(seed, 1)
    z = np.zeros((4, 10), np.float32)
    for row, cls in enumerate([3, 7, 2, 0]):
        z[row, cls] = 1.0
    cases = [(np.array([3, 7, 1, 0]), z)]
    cases += [(rng.integers(0, 10, n), rng.normal(size=(n, 10)).astype(np.float32)) for n in (100, 37)]
    seen = []
    for y, zz in cases:
        try:
            seen.append(float(kernel.call(f"{PROBES}:probe_accuracy", ("accuracy",), {"accuracy": Value()},
                                          y=y, z=zz)["accuracy"]))
        except CheckFailed as exc:  # reported in its turn, after the cases before it
            seen.append(exc)
    # the mistake that explains every value (a floor division and an error rate agree where all are right)
    cause = diagnose.consistent((got, mistakes.accuracy_variants(y, zz))
                                for got, (y, zz) in zip(seen, cases, strict=True) if not isinstance(got, CheckFailed))
    for got, (y, zz) in zip(seen, cases, strict=True):
        if isinstance(got, CheckFailed):
            raise got
        want = ref.accuracy(y, zz)
        if not abs(got - want) <= visible.TOL:
            raise _failed(f"在 {len(y)} 筆資料上,準確率應為 {want:.4f},卻得到 {got:.4f}。",
                          f"On {len(y)} predictions the accuracy should be {want:.4f}, got {got:.4f}.",
                          cause,
                          say("準確率是 tf.argmax(logits, axis=1) 等於標籤的比例(0 到 1 之間)。",
                              "The accuracy is the fraction of rows whose tf.argmax(logits, axis=1) equals the "
                              "label, between 0 and 1."))


def sgd_step(kernel, seed: int) -> None:
    """One step (eager from zero weights, compiled from random ones) equals W − lr·dW, b − lr·db and
    returns the loss before the update. The step is checked on its own: the student's ``logits`` and
    ``cross_entropy`` are replaced by stand-ins with known gradients while it runs (a step that
    computes the scores and loss itself is checked against the reference loss instead)."""
    rng = _rng(seed, 2)
    x, W, b, y = _random_problem(rng)
    ex_x = _example()[0]
    cases = ((ex_x, np.array([3, 7]), np.zeros((784, 10), np.float32), np.zeros(10, np.float32), 0.5, False),
             (x, y, W, b, 0.05, True))
    steps = []
    for xx, yy, W0, b0, lr, compiled in cases:
        s, t = rng.uniform(0.5, 1.5, size=2)
        T = rng.normal(size=(10, 10))
        inputs = dict(x=xx, y=yy, W=W0, b=b0, lr=lr, compiled=compiled)
        try:
            got = kernel.call(f"{PROBES}:probe_sgd_step", ("sgd_step",), step_values(W0, b0), **inputs,
                              stand_in=True, s=s, t=t, T=T)
            if np.all(got["calls"] > 0):
                def loss_at(W, b, xx=xx, yy=yy, s=s, t=t, T=T):
                    return ref.stand_in_gradients(xx, yy, W, b, s, t, T)[0]
                dW, db = ref.stand_in_gradients(xx, yy, W0, b0, s, t, T)[1:]
            else:  # the step computes scores and loss itself: judge it with the reference loss
                got = kernel.call(f"{PROBES}:probe_sgd_step", ("sgd_step",), step_values(W0, b0), **inputs)

                def loss_at(W, b, xx=xx, yy=yy):
                    return ref.cross_entropy(yy, ref.logits(xx, W, b))
                dW, db = ref.gradients(xx, yy, W0, b0)
        except CheckFailed as exc:  # reported in its turn, after the cases before it
            steps.append(exc)
            continue
        steps.append((got, W0, b0, lr, dW, db, loss_at))
    # the mistake that explains both steps (from zero weights, W := lr·dW and a reversed sign agree)
    cause = diagnose.consistent(
        ((np.concatenate([got["W"].ravel(), got["b"].ravel()]), mistakes.step_variants(W0, b0, lr, dW, db))
         for got, W0, b0, lr, dW, db, _ in (st for st in steps if not isinstance(st, CheckFailed))), rtol=1e-3)
    for step in steps:
        if isinstance(step, CheckFailed):
            raise step
        _judge_step(*step, cause)


def step_values(W0, b0) -> dict[str, Value]:
    """What ``probe_sgd_step`` hands back: W and b after the step, the returned loss, the stand-ins'
    calls, and how many variables the step created."""
    return {"W": Value(W0.shape), "b": Value(b0.shape), "returned": Value(), "calls": Value((2,), "int"),
            "created": Value(kind="int")}


def _judge_step(got, W0, b0, lr, dW, db, loss_at, cause=None) -> None:
    """One step from W0, b0 with gradients dW, db of the loss ``loss_at(W, b)``, judged; ``cause``,
    the mistake that explains every step judged, if one does."""
    want_W, want_b, loss0 = W0 - lr * dW, b0 - lr * db, loss_at(W0, b0)
    got_W, got_b, returned = got["W"], got["b"], float(got["returned"])
    if np.allclose(got_W, W0) and np.allclose(got_b, b0):
        raise CheckFailed(say("呼叫 `sgd_step` 之後,W 與 b 與呼叫前相同。",
                              "W and b are the same after the call of `sgd_step` as before it.") + "\n"
                          + (mistakes.UPDATED_COPIES.text if int(got["created"]) > 0 else
                             say("這一步要就地更新傳進來的變數 W、b(例如 W.assign_sub(lr * dW))。",
                                 "The step has to change the very variables W and b it is given, in place "
                                 "(e.g. W.assign_sub(lr * dW)).")))
    err = max(rel_error(got_W, want_W), rel_error(got_b, want_b))
    if err > 1e-4:
        raise _failed(f"一步 SGD 的結果與參考更新 W − lr·dW、b − lr·db 不同(相對誤差 {err:.1e},容許 1e-4)。",
                      f"One SGD step differs from W − lr·dW, b − lr·db (relative error {err:.1e}, allowed 1e-4).",
                      cause,
                      say("更新應為 W ← W − lr·dW、b ← b − lr·db,梯度取自這批資料的平均損失,每個變數各更新一次。",
                          "The update is W ← W − lr·dW, b ← b − lr·db, with the gradients of the batch's mean "
                          "loss, each variable updated once."))
    if not rel_error(returned, loss0) <= visible.TOL:
        raise CheckFailed(say(f"`sgd_step` 應回傳更新前的損失 {loss0:.6f},卻回傳 {returned:.6f}。",
                              f"`sgd_step` should return the loss before the update, {loss0:.6f}, "
                              f"got {returned:.6f}.")
                          + ("\n" + mistakes.LOSS_AFTER.text if rel_error(returned, loss_at(got_W, got_b)) <= 1e-4
                             else ""))


#: The notebook's trained parameters, as the grader expects them back.
PARAMS = {"W": Value((784, 10)), "b": Value((10,))}


def _params(kernel, **more: Value):
    got = kernel.values(**PARAMS, **more)
    return got["W"].astype(np.float32), got["b"].astype(np.float32), *(got[name] for name in more)


def loss_decreases(kernel, seed: int) -> None:
    """The grader's full training loss at the trained W, b is at most half that of zero weights, and
    the recorded losses fall (first vs last 100 steps)."""
    W, b = _params(kernel)
    data = mnist_data.grader_data()
    x = data.x_train.reshape(len(data.x_train), -1)
    before = math.log(10)  # the loss of zero weights
    after = ref.cross_entropy(data.y_train, ref.logits(x, W, b))
    if not after < 0.5 * before:
        unchanged = not np.any(W) and not np.any(b)
        raise CheckFailed(say(
            f"整個訓練集的損失從 {before:.4f}(零權重)只變成 {after:.4f},應至少減半。"
            + ("W 與 b 仍然全是 0,和開始時一樣:沒有任何一步改變它們(學習率為 0,或沒有走任何一步)。" if unchanged else ""),
            f"The loss on the whole training set went from {before:.4f} (zero weights) to only {after:.4f}; "
            "training should at least halve it"
            + (": W and b are still all zeros, as they started, so no step changed them (learning rate 0, or "
               "no step taken)." if unchanged else " (the unit check of `sgd_step` above judges one step on its own).")))
    rec = kernel.values(losses=Value((None,), finite=False))["losses"]  # after the grader's own measure
    if rec.size < 2 * WINDOW or not np.all(np.isfinite(rec)):
        raise CheckFailed(f"`losses` should hold one finite loss per step, at least {2 * WINDOW}; it has {rec.size}.")
    early, late = rec[:WINDOW].mean(), rec[-WINDOW:].mean()
    if not late < early:
        raise CheckFailed(say(f"最後 {WINDOW} 步的平均損失 {late:.4f} 不低於最初 {WINDOW} 步的 {early:.4f}。",
                              f"The mean loss of the last {WINDOW} steps, {late:.4f}, is not below that of "
                              f"the first {WINDOW}, {early:.4f}."))


def _test_accuracy_of(W, b) -> float:
    data = mnist_data.grader_data()
    x = data.x_test.reshape(len(data.x_test), -1)
    return mnist_data.accuracy_of(lambda xb: xb @ W + b, x, data.y_test)


def _held_out_accuracy_of(W, b) -> float:
    """Accuracy of W, b on the grader's held-out images, which the kernel never sees (``mnist_data.held_out``)."""
    x, y = mnist_data.held_out()
    return mnist_data.accuracy_of(lambda xb: xb @ W + b, x.reshape(len(x), -1), y)


def reported_accuracy(kernel, seed: int) -> None:
    """The notebook's ``test_accuracy`` is the accuracy of its W, b on the test set."""
    W, b, reported = _params(kernel, test_accuracy=Value())
    want, got = _test_accuracy_of(W, b), float(reported)
    if not math.isclose(got, want, abs_tol=1e-4):
        data = mnist_data.grader_data()
        on_training = mnist_data.accuracy_of(lambda xb: xb @ W + b, data.x_train.reshape(len(data.x_train), -1),
                                             data.y_train)
        cause = diagnose.which(got, mistakes.reported_variants(want, on_training, _last_batch_accuracy(kernel, W, b)),
                               rtol=1e-4)
        raise _failed(f"`test_accuracy` 是 {got:.4f},但 W、b 在測試集上的準確率是 {want:.4f}。",
                      f"`test_accuracy` is {got:.4f}, but the accuracy of W, b on the test set is {want:.4f}.",
                      cause,
                      say("請在訓練之後,用訓練好的 W、b 在 x_test、y_test 上計算:accuracy(y_test, logits(x_test, W, b))。",
                          "Compute it after training, from the trained W and b, on x_test and y_test: "
                          "accuracy(y_test, logits(x_test, W, b))."))


def _last_batch_accuracy(kernel, W, b) -> float:
    """The accuracy of W, b on the given training loop's last batch (``batch_x``, ``batch_y``, validated
    like any value), NaN when the notebook holds no such batch."""
    try:
        got = kernel.values(batch_x=Value((None, 784)), batch_y=Value((None,), "int"))
    except CheckFailed:
        return math.nan
    if len(got["batch_x"]) != len(got["batch_y"]):
        return math.nan
    return mnist_data.accuracy_of(lambda xb: xb @ W + b, got["batch_x"].astype(np.float32), got["batch_y"])


def threshold() -> tuple[float, str]:
    """The minimum test accuracy, relative to the grader's own run of the source notebook."""
    return mnist_data.threshold(NOTEBOOK, "gdkit.probe:values", ("W", "b"),
                                {f"v{i}": v for i, v in enumerate(PARAMS.values())}, lambda values: _held_out_accuracy_of(
        np.asarray(values["v0"], np.float32), np.asarray(values["v1"], np.float32)))


def logreg_accuracy(kernel, seed: int) -> None:
    """The trained W, b reach the accuracy threshold on the grader's own test set."""
    W, b = _params(kernel)
    minimum, described = threshold()
    acc = _held_out_accuracy_of(W, b)
    if not acc >= minimum:
        raise CheckFailed(say(f"測試準確率 {acc:.4f},低於門檻 {minimum}。",
                              f"Test accuracy {acc:.4f} is below the threshold {minimum} ({described})."))
