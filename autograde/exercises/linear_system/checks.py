"""Checks of exercise 1: each probes the student's kernel and judges here, against NumPy.

Inputs come from ``seed`` (never sent to the kernel); expected values from ``reference``.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from autograde.assignment import diagnose
from autograde.assignment.returned import Value
from autograde.exercises.linear_system import mistakes
from autograde.exercises.linear_system import reference as ref
from gdkit.checks import linear_system as visible
from gdkit.checks._common import CheckFailed, say
from gdkit.tolerance import rel_error

PROBES = "gdkit.checks.linear_system"
#: Relative error (floor 1) allowed between a converged solution and the exact one. The
#: reference stops with errors up to 2.7e-3 on the lesson's systems (Adam 0.1, |Δloss| < 1e-8);
#: tests/assignment/test_calibration.py keeps the figures over 20 seeds.
SOLUTION_TOL = 2e-2
#: Relative error allowed between the student's steps and the reference steps (float32 vs float64).
STEP_TOL = 1e-4
#: After 10 epochs a run must be this close to the grader's own run from the same start.
EARLY_TOL = 1e-3
#: "Well before the epoch limit": early stopping must fire by this epoch.
EARLY_STOP_BY = ref.EPOCHS // 2


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(1000 + seed)


# ------------------------------------------------------------------------------------- the loss
def _loss_cases(seed: int):
    """The notebook's three known points, then new 2×2, 2×2 and 3×3 systems at random points."""
    A, b = visible.LESSON_A.astype(np.float64), visible.LESSON_B.astype(np.float64)
    cases = [(A, b, np.array(p), (f"x+y=16、10x+25y=250 的 (x, y) = {p}", f"(x, y) = {p} of x+y=16, 10x+25y=250"))
             for p in ((0.0, 0.0), (1.0, 2.0), (10.0, 6.0))]
    rng = _rng(seed)
    for n in (2, 2, 3):
        A = rng.normal(size=(n, n)) * 3
        b = rng.normal(size=n) * 5
        v = rng.normal(size=n)
        cases.append((A.astype(np.float32), b.astype(np.float32), v.astype(np.float32),
                      (f"一個新的 {n}×{n} 方程組", f"a new {n}×{n} system")))
    return cases


def loss_value(kernel, seed: int) -> None:
    """The loss equals the sum of squared residuals at known points and on new systems, and has the
    right gradient."""
    cases = _loss_cases(seed)
    seen = []
    for A, b, v, _ in cases:
        try:
            seen.append(kernel.call(f"{PROBES}:probe_loss", ("linear_system_loss",),
                                    {"loss": Value(), "grad": Value(v.shape, finite=False)}, A=A, b=b, v=v))
        except CheckFailed as exc:  # reported in its turn, after the cases before it
            seen.append(exc)
    # the mistake that explains every value (a mean and half the sum agree on 2×2 systems, not on 3×3)
    cause = diagnose.consistent((float(got["loss"]), mistakes.loss_variants(A, b, v))
                                for got, (A, b, v, _) in zip(seen, cases, strict=True) if isinstance(got, dict))
    lesson_right = all(isinstance(got, dict) and rel_error(float(got["loss"]), ref.loss(A, b, v)) <= visible.LOSS_TOL
                       for got, (A, b, v, _) in list(zip(seen, cases, strict=True))[:3])
    for got, (A, b, v, (where_zh, where)) in zip(seen, cases, strict=True):
        if isinstance(got, CheckFailed):
            raise got
        loss, grad = float(got["loss"]), got["grad"]
        expected = ref.loss(A, b, v)
        if not rel_error(loss, expected) <= visible.LOSS_TOL:
            hint = cause.text if cause else visible._loss_hint(loss, expected)
            if cause is None and lesson_right:
                hint = say("你的損失在課文的方程組上正確,在這個新的方程組上卻不對:請找程式裡寫死的課文數字;"
                           "損失要用參數 A、b(tf.linalg.matvec(A, v) - b)。",
                           "Your loss is right on the lesson's system but not on this new one: look for "
                           "numbers of the lesson written into the code; the loss must use the arguments A "
                           "and b (tf.linalg.matvec(A, v) - b).")
            raise CheckFailed(say(f"在{where_zh},損失應為 {expected:.6g},卻得到 {loss:.6g}。",
                                  f"At {where} the loss should be {expected:.6g}, got {loss:.6g}.") + "\n" + hint)
        if not np.all(np.isfinite(grad)):
            raise CheckFailed(say("損失無法對 v 微分:請只用 TensorFlow 運算,不要轉成 NumPy。",
                                  "The loss cannot be differentiated with respect to v: "
                                  "use TensorFlow operations only, no NumPy or .numpy()."))
        if rel_error(grad, ref.gradient(A, b, v)) > 1e-3:
            raise CheckFailed(say(f"在{where_zh},損失的梯度不對:是 {np.round(grad, 4)},應為 {np.round(ref.gradient(A, b, v), 4)}。",
                                  f"At {where} the gradient of your loss is {np.round(grad, 4)}, "
                                  f"expected {np.round(ref.gradient(A, b, v), 4)}.")
                              + (f"\n{cause.text}" if cause else ""))


# ------------------------------------------------------------------------------------- one step
def _quadratic_inputs(A, b) -> dict:
    A, b = np.asarray(A, np.float64), np.asarray(b, np.float64)
    return {"Q": A.T @ A, "c": A.T @ b, "d": np.float64(b @ b)}


def step_matches_reference(kernel, seed: int) -> None:
    """From (1, 2) one Adam step lowers the loss and returns the loss before it (as in the notebook);
    three SGD and three Adam steps equal the reference steps."""
    A, b = visible.LESSON_A, visible.LESSON_B
    start = np.array([1.0, 2.0])
    for optimizer, lr, count in (("adam", 0.1, 1), ("sgd", 1e-4, 3), ("adam", 0.1, 3)):
        name = f"{'Adam' if optimizer == 'adam' else 'SGD'}({lr:g})"
        got = kernel.call(f"{PROBES}:probe_steps", ("gradient_step",),
                          {"v": Value((count, 2), finite=False), "returned": Value((count,), finite=False)},
                          **_quadratic_inputs(A, b), v0=start, optimizer=optimizer, lr=lr, steps=count)
        points, returned = got["v"], got["returned"]
        want, before = ref.steps(A, b, start, optimizer, lr, count)
        moved, expected_move = points[0] - start, want[0] - start
        if np.allclose(moved, 0):
            raise CheckFailed(say("一步之後 v 與開始時相同:這一步要用傳入的 optimizer 更新變數"
                                  "(optimizer.apply_gradients(zip(grads, variables)))。",
                                  "v is the same after one step as before it: the step must update the variables "
                                  "with the optimizer passed in (optimizer.apply_gradients(zip(grads, variables)))."))
        err = rel_error(points, want)
        cause = (diagnose.which(points, mistakes.step_variants(A, b, start, optimizer, lr, count), rtol=STEP_TOL)
                 if err > STEP_TOL else None)
        if cause is None and (rel_error(moved, -expected_move, floor=1e-6) < 1e-2
                              or ref.loss(A, b, points[0]) > before[0]):
            raise CheckFailed(say("你的一步朝梯度的方向走(上坡):梯度的正負號是否反了?",
                                  f"Your {name} step moves along the gradient, uphill (the loss went from "
                                  f"{before[0]:.6g} to {ref.loss(A, b, points[0]):.6g}): is the gradient "
                                  "step's sign reversed?"))
        if not err <= STEP_TOL:
            raise CheckFailed(say(
                f"用 {name} 走 {count} 步後 v 應為 {np.round(want[-1], 5)},卻得到 {np.round(points[-1], 5)}。",
                f"After {count} {name} step(s) from (1, 2), v should be {np.round(want[-1], 5)}, got "
                f"{np.round(points[-1], 5)} (relative error {err:.1e}, allowed {STEP_TOL:.0e}).")
                + "\n" + (cause.text if cause else say("用 tape 求 loss_fn() 的梯度,每次呼叫套用一次。",
                                                      "Compute the gradient of loss_fn() with a tape and apply it "
                                                      "once per call.")))
        if not rel_error(returned, before) <= visible.LOSS_TOL:
            shown = "not a scalar" if not np.all(np.isfinite(returned)) else f"{returned[0]:.6g}"
            raise CheckFailed(say(f"`gradient_step` 應回傳更新前的損失 {before[0]:.6g},卻回傳 {shown}。",
                                  f"`gradient_step` should return the loss before the update, {before[0]:.6g}, "
                                  f"got {shown}."))


# ------------------------------------------------------------------------------- the stop rule
STOP_CASES = (  # (loss, previous, tol, what it means), the notebook's three first
    (5.0, math.inf, 1e-8, "the first epoch, where there is no previous loss"),
    (2.0, 2.0 + 5e-9, 1e-8, "a change of 5e-9, below the tolerance 1e-8"),
    (2.0, 3.0, 1e-8, "a drop of 1.0, far above the tolerance"),
    (1.0, 1.0, 1e-8, "no change at all"), (1.0 + 4e-9, 1.0, 1e-8, "a rise of 4e-9"),
    (1.0, 0.5, 1e-8, "a rise of 0.5"), (3.0, 3.5, 1.0, "a drop of 0.5 below the tolerance 1"),
    (3.0, 4.5, 1.0, "a drop of 1.5 above the tolerance 1"), (4.5, 3.0, 1.0, "a rise of 1.5"),
    (100.0, 99.99, 1e-3, "a rise of 0.01 above the tolerance 1e-3"),
)


def stop_rule(kernel, seed: int) -> None:
    """The stopping rule on hand-made pairs of losses (as floats and as tensors) and random ones."""
    rng = _rng(seed)
    cases = list(STOP_CASES)
    for _ in range(6):
        tol = float(10.0 ** rng.integers(-9, -2))
        prev = float(rng.uniform(0.1, 10))
        change = tol * float(rng.choice([0.3, 0.9, 1.1, 3.0])) * float(rng.choice([-1, 1]))
        cases.append((prev + change, prev, tol, f"a change of {abs(change):.1e} with the tolerance {tol:.0e}"))
    pairs = [(c, wrap) for c in cases for wrap in (False, True)]
    got = kernel.call(f"{PROBES}:probe_should_stop", ("should_stop",), {"stop": Value((len(pairs),), "bool")},
                      loss=[c[0] for c, _ in pairs], previous=[c[1] for c, _ in pairs],
                      tol=[c[2] for c, _ in pairs], as_tensor=[w for _, w in pairs])
    stop = got["stop"]
    for ((loss, previous, tol, meaning), wrapped), said in zip(pairs, stop, strict=True):
        expected = ref.should_stop(loss, previous, tol)
        if bool(said) != expected:
            kind = " (the loss given as a tensor)" if wrapped else ""
            raise CheckFailed(say(f"should_stop({loss}, {previous}, {tol}) 應為 {expected},卻得到 {bool(said)}。",
                                  f"should_stop({loss}, {previous}, {tol}) should be {expected}, got "
                                  f"{bool(said)}{kind}: {meaning}. Stop exactly when |loss − previous_loss| < tol "
                                  "(the absolute value of the change)."))


# -------------------------------------------------------------------------------- in the loop
def starts(rng: np.random.Generator, count: int, n: int = 2) -> np.ndarray:
    """Random starting points in [0, 1)^n, as the lesson's ``random.random()``."""
    return rng.random((count, n)).astype(np.float32).astype(np.float64)


def plan(seed: int) -> list[tuple[ref.System, np.ndarray]]:
    """(system, start) of the convergence check: the lesson's systems from two starts, unseen from one."""
    rng = _rng(seed)
    lesson, unseen, v0s = ref.lesson_systems(), ref.random_systems(rng, 3), starts(rng, 2)
    return [(s, v0) for s in lesson for v0 in v0s] + [(s, v0s[0]) for s in unseen]


def loop_plan(seed: int) -> list[tuple[ref.System, np.ndarray]]:
    """(system, start) of the early-stopping check: the quick systems (the lesson's last two, two unseen)."""
    rng = _rng(seed)
    lesson, unseen, v0s = ref.lesson_systems(), ref.random_systems(rng, 3), starts(rng, 2)
    return [(s, v0s[0]) for s in lesson[1:] + unseen[:2]]


@functools.lru_cache(maxsize=4)
def reference_runs(seed: int, which: str):
    """The grader's own Adam runs of ``plan`` or ``loop_plan``: (runs, points, losses, stop epochs)."""
    runs = plan(seed) if which == "converge" else loop_plan(seed)
    points, losses = ref.descend([s for s, _ in runs], np.stack([v0 for _, v0 in runs]))
    stops = np.array([ref.stop_epoch(losses[:, r]) or ref.EPOCHS for r in range(len(runs))])
    return runs, points, losses, stops


def _cause(v0, v, solution) -> str:
    if not np.all(np.isfinite(v)) or np.linalg.norm(v - solution) > np.linalg.norm(v0 - solution):
        return ("it moved away from the solution (the unit checks of the loss and of the step above judge "
                "each of them on its own)")
    return "it did not get close enough"


def systems_converge(kernel, seed: int) -> None:
    """With the student's loss and step, gradient descent solves the lesson's systems and unseen
    ones from random starts, along the grader's own Adam path."""
    runs, points, _, stops = reference_runs(seed, "converge")
    shape = (len(runs), 2)
    got = kernel.call(f"{PROBES}:probe_solve", ("linear_system_loss", "gradient_step"),
                      {"v": Value(shape, finite=False), "early": Value(shape, finite=False)},
                      A=np.stack([s.A for s, _ in runs]).astype(np.float32),
                      b=np.stack([s.b for s, _ in runs]).astype(np.float32),
                      v0=np.stack([v0 for _, v0 in runs]).astype(np.float32), epochs=stops, lr=ref.LR)
    final, early = got["v"], got["early"]
    for r, (system, v0) in enumerate(runs):
        if not rel_error(final[r], system.solution) <= SOLUTION_TOL:
            raise CheckFailed(say("梯度下降沒有收斂到正確的解。", "Gradient descent did not reach the solution.")
                              + f"\nSystem {system.label} from start {np.round(v0, 3)}: expected "
                              f"{system.solution}, got {np.round(final[r], 4)} after {stops[r]} epochs; "
                              f"{_cause(v0, final[r], system.solution)} (allowed relative error {SOLUTION_TOL:.0e}).")
    for r, (system, v0) in enumerate(runs):
        if not rel_error(early[r], points[9, r]) <= EARLY_TOL:
            raise CheckFailed(say("前 10 個 epoch 的路徑與 Adam 的路徑不同。",
                                  f"System {system.label} from start {np.round(v0, 3)}: after 10 epochs of "
                                  f"Adam({ref.LR}) v should be {np.round(points[9, r], 4)}, got "
                                  f"{np.round(early[r], 4)}: one call of gradient_step must be one step of "
                                  "the optimizer on the gradient of the loss."))


def rule_stop_epochs(losses: np.ndarray, tol: float) -> set[int]:
    """The epochs at which the rule |loss − previous| < tol first holds on ``losses`` (0: never), as a
    correct rule computes it in float64, or in float32 (a difference or both losses made tensors)."""
    losses = np.asarray(losses, np.float64)
    diff64 = np.abs(np.diff(losses))
    diff32 = np.abs(np.diff(losses.astype(np.float32)))
    epochs = set()
    for change, limit in ((diff64, tol), (diff64.astype(np.float32), np.float32(tol)), (diff32, np.float32(tol))):
        hits = np.flatnonzero(change < limit)
        epochs.add(int(hits[0]) + 2 if hits.size else 0)
    return epochs


def early_stopping_in_loop(kernel, seed: int) -> None:
    """On the losses of the grader's own runs, the student's rule stops at the very epoch the rule
    gives (well before the limit, where the run is already near the solution)."""
    runs, points, losses, _ = reference_runs(seed, "loop")
    for r, (system, _) in enumerate(runs):
        recorded = losses[:EARLY_STOP_BY, r]
        got = kernel.call(f"{PROBES}:probe_stop_epoch", ("should_stop",), {"epoch": Value(kind="int")},
                          losses=recorded, tol=ref.STOP_TOL)
        epoch, want = int(got["epoch"]), rule_stop_epochs(recorded, ref.STOP_TOL) - {0}
        if not want:
            raise RuntimeError(f"calibration: the grader's run of {system.label} does not stop by epoch {EARLY_STOP_BY}")
        if epoch in want:
            continue
        if not 1 <= epoch <= EARLY_STOP_BY:
            raise CheckFailed(say(
                f"方程組 {system.label}:在上限 {ref.EPOCHS} 個 epoch 內,應在第 {EARLY_STOP_BY} 個之前提早結束,卻沒有停。",
                f"System {system.label}: the loop should stop early, by epoch {EARLY_STOP_BY} of {ref.EPOCHS}, "
                f"but it ran past epoch {EARLY_STOP_BY}: does should_stop ever return True?"))
        v = points[epoch - 1, r]
        if not rel_error(v, system.solution) <= SOLUTION_TOL:
            raise CheckFailed(say(
                f"方程組 {system.label}:在第 {epoch} 個 epoch 就停了,離解還很遠。",
                f"System {system.label}: the loop stopped after {epoch} epochs at {np.round(v, 4)}, far from "
                f"{system.solution}: is the comparison reversed (stop when the change is *small*)?"))
        first = min(want)
        raise CheckFailed(say(
            f"方程組 {system.label}:在評分程式記錄的損失上,迴圈在第 {epoch} 個 epoch 停止;規則 `|Δloss| < tol` 第一次成立是在第 {first} 個。",
            f"System {system.label}: on the grader's recorded losses the loop stopped after epoch {epoch}; the rule "
            f"|loss − previous_loss| < {ref.STOP_TOL:g} first holds at epoch {first}. Stop at the first epoch "
            "where it holds."))
