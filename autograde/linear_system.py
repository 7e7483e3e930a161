"""Hidden checks and reference code for exercise 1, a linear system solved by gradient descent.

Systems are ``A v = b`` with ``A`` (n, n) float32, ``b`` (n,), ``v`` (n,). The trusted
training loop here is the grader's own copy of the loop given in the notebook, so a
student who edits that loop changes nothing the grader measures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gdkit.checks._common import CheckFailed, call_student, say
from gdkit.checks.linear_system import LESSON_A, LESSON_B, LOSS_TOL, as_scalar
from gdkit.tolerance import rel_error

#: Relative error (floor 1) allowed between a converged solution and the exact one.
#: The reference stops with errors up to 2.7e-3 on the lesson's systems (Adam 0.1,
#: |Δloss| < 1e-8); see tests/test_calibration.py for the figures over 20 seeds.
SOLUTION_TOL = 2e-2
#: Relative error allowed between the student's step and the reference step (float32).
STEP_TOL = 1e-4
LR, EPOCHS, STOP_TOL = 0.1, 10_000, 1e-8
#: "Well before the epoch limit": early stopping must fire by this epoch.
EARLY_STOP_BY = EPOCHS // 2


@dataclass(frozen=True)
class System:
    """A square system ``A v = b`` with its exact solution; ``label`` names it in messages."""

    A: np.ndarray
    b: np.ndarray
    solution: np.ndarray
    label: str


def lesson_systems() -> list[System]:
    """The three systems of the lesson (範例2): (10, 6), (3, 1) and (4, −6)."""
    rows = [
        (LESSON_A, LESSON_B, "x+y=16, 10x+25y=250"),
        (np.array([[2, 3], [1, -1]]), np.array([9, 2]), "2x+3y=9, x−y=2"),
        (np.array([[1, 1], [3, 2]]), np.array([-2, 0]), "2x+2−(x−y)=0, 3x+2y=0"),
    ]
    out = []
    for A, b, label in rows:
        A, b = np.asarray(A, np.float32), np.asarray(b, np.float32)
        out.append(System(A, b, np.linalg.solve(A.astype(np.float64), b), label))
    return out


def random_systems(rng: np.random.Generator, count: int, n: int = 2, max_cond: float = 6.0) -> list[System]:
    """``count`` well-conditioned systems the student never saw: integer A and solution."""
    out = []
    while len(out) < count:
        A = rng.integers(-6, 7, size=(n, n)).astype(np.float64)
        if abs(np.linalg.det(A)) < 1 or np.linalg.cond(A) > max_cond:
            continue
        solution = rng.integers(-8, 9, size=n).astype(np.float64)
        b = A @ solution
        label = ", ".join(
            " ".join(f"{a:+g}·v{j}" for j, a in enumerate(row)) + f" = {bi:g}" for row, bi in zip(A, b, strict=True)
        )
        out.append(System(A.astype(np.float32), b.astype(np.float32), solution, label))
    return out


# ----------------------------------------------------------------- reference pieces
def reference_loss(A, b, v):
    """Sum of squared residuals ``sum((A v - b)^2)``: a float32 scalar tensor."""
    import tensorflow as tf

    r = tf.linalg.matvec(A, v) - b
    return tf.reduce_sum(tf.square(r))


def reference_step(loss_fn, variables, optimizer):
    """One step: loss and gradients under a tape, then ``apply_gradients``; returns the loss."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables, strict=True))
    return loss


def reference_should_stop(loss, previous_loss, tol):
    """True when the loss changed by less than ``tol``."""
    return abs(loss - previous_loss) < tol


@dataclass
class Solve:
    """What a run of the loop did: final ``v`` (n,), epochs run, losses per epoch."""

    v: np.ndarray
    epochs: int
    stopped_early: bool
    losses: list[float] = field(default_factory=list)


def solve(system: System, v0, loss_fn=reference_loss, step_fn=reference_step,
          stop_fn=reference_should_stop, lr: float = LR, epochs: int = EPOCHS,
          tol: float = STOP_TOL) -> Solve:
    """The trusted training loop: Adam(lr), compiled step, stop when ``stop_fn`` says so."""
    import tensorflow as tf

    A, b = tf.constant(system.A), tf.constant(system.b)
    v = tf.Variable(np.asarray(v0, np.float32))
    optimizer = tf.keras.optimizers.Adam(lr)

    @tf.function
    def train_step():
        return step_fn(lambda: loss_fn(A, b, v), [v], optimizer)

    previous, losses = math.inf, []
    for epoch in range(epochs):
        loss = float(np.asarray(train_step()).reshape(()))
        losses.append(loss)
        if not math.isfinite(loss):
            break
        if stop_fn(loss, previous, tol):
            return Solve(v.numpy(), epoch + 1, True, losses)
        previous = loss
    return Solve(v.numpy(), len(losses), False, losses)


def starts(rng: np.random.Generator, count: int, n: int = 2) -> np.ndarray:
    """Random starting points in [0, 1)^n, as the lesson's ``random.random()``."""
    return rng.random((count, n)).astype(np.float32)


# -------------------------------------------------------------------- hidden checks
def _seeded_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(1000 + seed)


def loss_matches_reference(linear_system_loss, seed: int = 0) -> None:
    """The loss equals the reference on random 2×2 and 3×3 systems and is differentiable."""
    import tensorflow as tf

    rng = _seeded_rng(seed)
    for n in (2, 2, 3):
        A = tf.constant(rng.normal(size=(n, n)).astype(np.float32) * 3)
        b = tf.constant(rng.normal(size=n).astype(np.float32) * 5)
        v = tf.Variable(rng.normal(size=n).astype(np.float32))
        expected = float(reference_loss(A, b, v))
        with tf.GradientTape() as tape:
            out = call_student(linear_system_loss, A, b, v, name="linear_system_loss")
        got = as_scalar(out, "linear_system_loss")
        if rel_error(got, expected) > LOSS_TOL:
            raise CheckFailed(say(
                f"在一個 {n}×{n} 的新方程組上,損失應為 {expected:.6g},卻得到 {got:.6g}。",
                f"On a new {n}×{n} system the loss should be {expected:.6g}, got {got:.6g}: "
                "use A and b from the arguments (tf.linalg.matvec(A, v) - b), not the lesson's numbers.",
            ))
        if not isinstance(out, tf.Tensor) or tape.gradient(out, v) is None:
            raise CheckFailed(say(
                "損失無法對 v 微分:請只用 TensorFlow 運算,不要轉成 NumPy。",
                "The loss cannot be differentiated with respect to v: "
                "use TensorFlow operations only, no NumPy or .numpy().",
            ))


def _three_steps(gradient_step, make_opt, A, b):
    """Three compiled student steps and three reference steps from (1, 2); both final points.

    Fails at once when the first student step does not move or moves uphill.
    """
    import tensorflow as tf

    v_ref, opt_ref = tf.Variable([1.0, 2.0]), make_opt()
    v, opt = tf.Variable([1.0, 2.0]), make_opt()
    step = tf.function(lambda: gradient_step(lambda: reference_loss(A, b, v), [v], opt))
    start = np.array([1.0, 2.0])
    for i in range(3):
        reference_step(lambda: reference_loss(A, b, v_ref), [v_ref], opt_ref)
        call_student(step, name="gradient_step")
        if i:
            continue
        moved, expected_move = v.numpy() - start, v_ref.numpy() - start
        if np.allclose(moved, 0):
            raise CheckFailed(say("一步之後 v 沒有改變:是否呼叫了 `optimizer.apply_gradients`?",
                                  "v did not change after one step: "
                                  "did you call `optimizer.apply_gradients`?"))
        if rel_error(moved, -expected_move, floor=1e-6) < 1e-2:
            raise CheckFailed(say("你的一步朝梯度的方向走(上坡):梯度的正負號是否反了?",
                                  "Your step moves along the gradient, uphill: "
                                  "is the gradient step's sign reversed?"))
    return v, v_ref


def step_matches_reference(gradient_step, seed: int = 0) -> None:
    """From a fixed point, the student's step equals a reference SGD and Adam step, under tf.function."""
    import tensorflow as tf

    system = lesson_systems()[0]
    A, b = tf.constant(system.A), tf.constant(system.b)
    for make_opt, name in ((lambda: tf.keras.optimizers.SGD(1e-4), "SGD(1e-4)"),
                           (lambda: tf.keras.optimizers.Adam(0.1), "Adam(0.1)")):
        v, v_ref = _three_steps(gradient_step, make_opt, A, b)
        err = rel_error(v.numpy(), v_ref.numpy())
        if err > STEP_TOL:
            raise CheckFailed(say(
                f"用 {name} 走三步後 v 應為 {v_ref.numpy()},卻得到 {v.numpy()}。",
                f"After three {name} steps from (1, 2), v should be {v_ref.numpy()}, got {v.numpy()} "
                f"(relative error {err:.1e}, allowed {STEP_TOL:.0e}): compute the gradient of "
                "loss_fn() with a tape and apply it once per call.",
            ))


def stop_rule_cases(should_stop, seed: int = 0) -> None:
    """The stopping rule on hand-made pairs, rising losses and tensors included."""
    import tensorflow as tf

    cases = [
        (1.0, math.inf, 1e-8, False), (1.0, 1.0, 1e-8, True), (1.0 + 4e-9, 1.0, 1e-8, True),
        (1.0, 1.0 + 4e-9, 1e-8, True), (1.0, 0.5, 1e-8, False), (0.5, 1.0, 1e-8, False),
        (3.0, 3.5, 1.0, True), (3.0, 4.5, 1.0, False), (4.5, 3.0, 1.0, False),
        (100.0, 99.99, 1e-3, False),
    ]
    for loss, previous, tol, expected in cases:
        for wrap in (float, lambda x: tf.constant(x, tf.float64)):
            got = call_student(should_stop, wrap(loss), previous, tol, name="should_stop")
            if bool(got) != expected:
                raise CheckFailed(say(
                    f"should_stop({loss}, {previous}, {tol}) 應為 {expected},卻得到 {bool(got)}。",
                    f"should_stop({loss}, {previous}, {tol}) should be {expected}, got {bool(got)}: "
                    "stop exactly when |loss − previous_loss| < tol (the absolute value of the change).",
                ))


def _describe_failure(run: Solve, system: System, v0) -> str:
    first, last = run.losses[0], run.losses[-1]
    if not math.isfinite(last) or last > first:
        cause = (f"the loss grew (from {first:.3g} to {last:.3g}): is the step's sign reversed, "
                 "or is the loss unbounded below (residuals not squared)?")
    elif not run.stopped_early:
        cause = f"it did not converge within {run.epochs} epochs"
    else:
        cause = f"it stopped after {run.epochs} epochs with the loss at {last:.3g}"
    return (f"System {system.label} from start {np.round(v0, 3)}: expected {system.solution}, "
            f"got {np.round(run.v, 4)}; {cause}")


def converge_errors(systems, v0s, **solve_kw) -> list[tuple[float, Solve]]:
    """Solve each system from each start; the relative error of each run and the run."""
    out = []
    for system in systems:
        for v0 in v0s:
            run = solve(system, v0, **solve_kw)
            out.append((rel_error(run.v, system.solution), run))
    return out


def grading_instances(seed: int) -> tuple[list[System], list[System], np.ndarray]:
    """Lesson systems, unseen systems and starting points used by the convergence checks."""
    rng = _seeded_rng(seed)
    return lesson_systems(), random_systems(rng, 3), starts(rng, 2)


def _probe(linear_system_loss, gradient_step) -> None:
    """Call both functions once, eagerly, so a stub or crash is reported plainly, not from a graph."""
    import tensorflow as tf

    A, b = tf.constant(LESSON_A), tf.constant(LESSON_B)
    v = tf.Variable([0.5, 0.5])
    call_student(linear_system_loss, A, b, v, name="linear_system_loss")
    call_student(gradient_step, lambda: reference_loss(A, b, v), [v], tf.keras.optimizers.SGD(1e-6),
                 name="gradient_step")


def _convergence_plan(seed: int) -> list[tuple[System, np.ndarray]]:
    """(system, start) pairs of the convergence check: lesson systems from two starts, unseen from one."""
    lesson, unseen, v0s = grading_instances(seed)
    return [(s, v0) for s in lesson for v0 in v0s] + [(s, v0s[0]) for s in unseen]


#: Solutions reached by the last passing convergence check in this kernel, per seed: (runs, n).
_REACHED: dict[int, np.ndarray] = {}


def systems_converge(linear_system_loss, gradient_step, seed: int = 0) -> None:
    """With the student's loss and step, the loop solves the lesson's and unseen systems."""
    _probe(linear_system_loss, gradient_step)
    reached = []
    for system, v0 in _convergence_plan(seed):
        run = solve(system, v0, loss_fn=lambda A, b, v: call_student(
            linear_system_loss, A, b, v, name="linear_system_loss"),
            step_fn=lambda *a: call_student(gradient_step, *a, name="gradient_step"))
        if not rel_error(run.v, system.solution) <= SOLUTION_TOL:
            raise CheckFailed(say("梯度下降沒有收斂到正確的解。",
                                  "Gradient descent did not reach the solution.")
                              + "\n" + _describe_failure(run, system, v0)
                              + f" (allowed relative error {SOLUTION_TOL:.0e}).")
        reached.append(run.v)
    _REACHED[seed] = np.stack(reached)


def export_solutions(linear_system_loss, gradient_step, seed: int = 0) -> dict[str, np.ndarray]:
    """The solutions the student's loss and step reached, (runs, 2), for the grader to re-check."""
    if seed not in _REACHED:
        systems_converge(linear_system_loss, gradient_step, seed=seed)
    return {"solutions": np.asarray(_REACHED[seed], np.float64)}


def recheck_solutions(arrays: dict[str, np.ndarray], seed: int = 0) -> None:
    """Outside the kernel: each exported solution is within tolerance of the exact one,
    which the grader computes itself with ``numpy.linalg.solve``."""
    plan = _convergence_plan(seed)
    got = np.asarray(arrays["solutions"], np.float64)
    if got.shape != (len(plan), 2):
        raise CheckFailed(f"expected {len(plan)} solutions of 2 unknowns, got an array of shape {got.shape}")
    for (system, v0), v in zip(plan, got, strict=True):
        exact = np.linalg.solve(np.asarray(system.A, np.float64), np.asarray(system.b, np.float64))
        if not rel_error(v, exact) <= SOLUTION_TOL:
            raise CheckFailed(f"system {system.label} from start {np.round(v0, 3)}: expected "
                              f"{np.round(exact, 4)}, the solution reached was {np.round(v, 4)}")


def early_stopping_in_loop(should_stop, seed: int = 0) -> None:
    """With the student's rule, the loop stops well before the limit and near the solution."""
    lesson, unseen, v0s = grading_instances(seed)
    for system in lesson[1:] + unseen[:2]:
        v0 = v0s[0]
        run = solve(system, v0, stop_fn=lambda *a: call_student(should_stop, *a, name="should_stop"))
        if not run.stopped_early or run.epochs > EARLY_STOP_BY:
            raise CheckFailed(say(
                f"方程組 {system.label}:在上限 {EPOCHS} 個 epoch 內,應在第 {EARLY_STOP_BY} 個之前提早結束,"
                f"卻跑了 {run.epochs} 個。",
                f"System {system.label}: the loop should stop early, by epoch {EARLY_STOP_BY} of "
                f"{EPOCHS}, but ran {run.epochs} epochs: does should_stop ever return True?",
            ))
        if not rel_error(run.v, system.solution) <= SOLUTION_TOL:
            raise CheckFailed(say(
                f"方程組 {system.label}:在第 {run.epochs} 個 epoch 就停了,離解還很遠。",
                f"System {system.label}: the loop stopped after {run.epochs} epochs at "
                f"{np.round(run.v, 4)}, far from {system.solution}: is the comparison reversed "
                "(stop when the change is *small*)?",
            ))
