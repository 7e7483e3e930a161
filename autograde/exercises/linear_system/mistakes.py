"""Common mistakes of exercise 1: what each would have produced, computed with NumPy, and its cause.

Systems ``A v = b``: A (n, n), b (n,), v (n,).
"""

from __future__ import annotations

import numpy as np

from autograde.assignment.diagnose import Cause

MEAN_NOT_SUM = Cause("mean_instead_of_sum", "算成了殘差平方的平均:請用 tf.reduce_sum 加總。",
                     "the squared residuals are averaged: add them up with tf.reduce_sum.")
NORM_NOT_SQUARED = Cause("norm_not_squared", "算成了殘差的長度(開了根號),不是平方和。",
                         "this is the length of the residual (a square root), not the sum of squares.")
HALF_SUM = Cause("half_of_the_sum", "多乘了 ½:損失是平方和本身。", "there is an extra ½: the loss is the sum of squares itself.")
NOT_SQUARED = Cause("residuals_not_squared", "殘差沒有平方:請把殘差平方,損失是 Σ (A·v − b)²。",
                    "the residuals are not squared: square the residuals, the loss is Σ (A·v − b)².")
ABS_NOT_SQUARED = Cause("absolute_not_squared", "用了殘差的絕對值:應為平方。",
                        "absolute residuals are added: square them instead.")
TRANSPOSED = Cause("transposed_matrix", "A 被轉置了:殘差是 A·v − b(tf.linalg.matvec(A, v)),不是 Aᵀ·v − b。",
                   "A is transposed: the residual is A·v − b (tf.linalg.matvec(A, v)), not Aᵀ·v − b.")

BROADCAST_PRODUCT = Cause("elementwise_not_matrix_product",
                          "A * v 是逐元素相乘(廣播成 n×n),不是矩陣乘向量:請用 tf.linalg.matvec(A, v)。",
                          "A * v multiplies element by element (broadcast to n×n), not matrix times vector: "
                          "use tf.linalg.matvec(A, v).")
COLUMN_MINUS_ROW = Cause("column_minus_row",
                         "A·v 成了一行 (n, 1),減去 b (n,) 時廣播成 n×n:請用 tf.linalg.matvec(A, v) 得到 (n,)。",
                         "A·v came out as a column (n, 1), and subtracting b (n,) broadcasts to n×n: "
                         "tf.linalg.matvec(A, v) gives shape (n,).")
SQUARE_OF_SUM = Cause("square_of_the_sum", "先加總再平方:損失是每個殘差平方後再加總,Σ (A·v − b)²。",
                      "the residuals are summed, then squared: the loss squares each residual, then adds them, "
                      "Σ (A·v − b)².")


def loss_variants(A, b, v):
    """(cause, loss) of the common mistakes of ``linear_system_loss``."""
    A, b, v = (np.asarray(a, np.float64) for a in (A, b, v))
    r = A @ v - b
    rt = A.T @ v - b
    return [(MEAN_NOT_SUM, float(r @ r) / len(r)), (NORM_NOT_SQUARED, float(np.sqrt(r @ r))),
            (HALF_SUM, 0.5 * float(r @ r)), (NOT_SQUARED, float(r.sum())), (ABS_NOT_SQUARED, float(np.abs(r).sum())),
            (TRANSPOSED, float(rt @ rt)), (BROADCAST_PRODUCT, float(np.sum((A * v - b) ** 2))),
            (COLUMN_MINUS_ROW, float(np.sum(((A @ v)[:, None] - b[None, :]) ** 2))),
            (SQUARE_OF_SUM, float(r.sum() ** 2))]

STEP_TWICE = Cause("step_applied_twice", "每次呼叫更新了兩次:只呼叫一次 optimizer.apply_gradients。",
                   "each call updates twice: call optimizer.apply_gradients once per step.")
OPTIMIZER_UNUSED = Cause("optimizer_unused",
                         "沒有用傳入的 optimizer:請用 optimizer.apply_gradients(zip(grads, variables)) 更新。",
                         "the optimizer passed in is not used: update with "
                         "optimizer.apply_gradients(zip(grads, variables)).")


def step_variants(A, b, v0, optimizer: str, lr: float, count: int):
    """(cause, points after each call (count, n)) of the common mistakes of ``gradient_step``."""
    from autograde.exercises.linear_system import reference as ref

    twice = ref.steps(A, b, v0, optimizer, lr, 2 * count)[0][1::2]
    v, plain = np.asarray(v0, np.float64), []
    for _ in range(count):  # v ← v − lr·∇loss, without the optimizer's own rule
        v = v - lr * ref.gradient(A, b, v)
        plain.append(v)
    return [(STEP_TWICE, twice), (OPTIMIZER_UNUSED, np.stack(plain))]
