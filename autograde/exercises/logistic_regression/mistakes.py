"""Common mistakes of exercise 3: what each would have produced, computed with NumPy, and its cause.

Shapes: x (N, 784), W (784, 10), b (10,), logits z (N, 10), integer labels y (N,).
"""

from __future__ import annotations

import numpy as np

from autograde.assignment.diagnose import Cause
from autograde.exercises.logistic_regression import reference as ref

MISSING_BIAS = Cause("missing_bias", "logits 少了偏差 b:應為 x·W + b。", "the bias is missing: logits are x·W + b.")
BIAS_SUBTRACTED = Cause("bias_subtracted", "b 被減掉了:應為 x·W + b。", "b is subtracted: logits are x·W + b.")
SOFTMAX_IN_LOGITS = Cause("softmax_in_logits", "logits 不該經過 softmax:回傳 x·W + b 本身,softmax 在損失裡才算。",
                          "logits should not go through softmax: return x·W + b itself; the loss applies the softmax.")
TRANSPOSED_LOGITS = Cause("logits_transposed", "logits 轉置了:形狀應為 (N, 10),每列一張圖。",
                          "the logits are transposed: the shape should be (N, 10), one row per image.")
SUM_NOT_MEAN = Cause("sum_instead_of_mean", "對整批取了總和,應取平均(tf.reduce_mean)。",
                     "the batch is summed, not averaged: take tf.reduce_mean over the batch.")
SOFTMAX_TWICE = Cause("softmax_applied_twice",
                      "softmax 算了兩次:傳給 softmax_cross_entropy_with_logits(或 from_logits=True)的應是 logits,不是機率。",
                      "the softmax is applied twice: softmax_cross_entropy_with_logits (or from_logits=True) "
                      "takes the logits, not probabilities.")
SIGMOID_LOSS = Cause("sigmoid_cross_entropy",
                     "用了 sigmoid 交叉熵:十類互斥,應用 softmax 交叉熵。",
                     "a sigmoid cross-entropy is used: the ten classes exclude each other, use the softmax cross-entropy.")
MEAN_OVER_CLASSES = Cause("mean_over_classes_too",
                          "平均也除以了類別數:先對每張圖的十類加總,再對整批平均。",
                          "the mean also runs over the classes: sum over the ten classes of each image, then "
                          "average over the batch.")
ERROR_RATE = Cause("error_rate", "算成了錯誤率:準確率是猜對的比例。", "this is the error rate: accuracy is the fraction right.")
COUNT_NOT_FRACTION = Cause("count_not_fraction", "算成了猜對的筆數:請取平均,不是加總。",
                           "this is the number right: take the mean, not the sum.")
PERCENT = Cause("accuracy_in_percent", "準確率乘了 100(百分比):請回傳 0 到 1 之間的比例。",
                "the accuracy is multiplied by 100 (a percentage): return the fraction, between 0 and 1.")
FLOOR_DIVISION = Cause("accuracy_floor_division",
                       "準確率被無條件捨去成整數(0 或 1):整數運算(// 或對整數取 tf.reduce_mean)會這樣;"
                       "請先 tf.cast(…, tf.float32),再用 / 或 tf.reduce_mean。",
                       "the accuracy is rounded down to a whole number (0 or 1), as integer arithmetic does (// or "
                       "tf.reduce_mean of integers): tf.cast to tf.float32 first, then divide with / or take "
                       "tf.reduce_mean.")
ON_TRAINING_SET = Cause("accuracy_on_training_images",
                        "這是 W、b 在訓練集上的準確率:`test_accuracy` 要在 x_test、y_test 上算。",
                        "this is the accuracy of W, b on the training images: `test_accuracy` is measured on "
                        "x_test and y_test.")
ON_LAST_BATCH = Cause("accuracy_on_a_training_batch",
                      "這是 W、b 在訓練迴圈最後一批(batch_x、batch_y)上的準確率:`test_accuracy` 要在 x_test、y_test 上算,不是在訓練批次上。",
                      "this is the accuracy of W, b on the training loop's last batch (batch_x, batch_y): "
                      "`test_accuracy` is measured on x_test and y_test, not on a training batch.")
SIGN_REVERSED = Cause("update_sign_reversed", "更新的正負號反了:應為 W ← W − lr·dW。",
                      "the update's sign reversed: it should be W ← W − lr·dW (a step downhill).")
LR_TWICE = Cause("learning_rate_twice", "學習率乘了兩次:只乘一次 lr。", "the learning rate is applied twice: multiply by lr once.")
LR_MISSING = Cause("learning_rate_missing", "沒有乘上學習率:應為 W ← W − lr·dW。",
                   "the learning rate is not applied: it should be W ← W − lr·dW.")
B_NOT_UPDATED = Cause("bias_not_updated", "只更新了 W,b 沒有更新。", "only W is updated: update b too.")
ASSIGNED_THE_STEP = Cause("step_assigned_not_subtracted",
                          "W 被設成了 lr·dW 本身:應為 W − lr·dW(W.assign_sub(lr * dW),不是 W.assign(lr * dW))。",
                          "W is set to lr·dW itself: it should become W − lr·dW (W.assign_sub(lr * dW), not "
                          "W.assign(lr * dW)).")
UPDATED_COPIES = Cause("updated_copies_of_the_variables",
                       "`sgd_step` 建立了新的變數(例如 tf.Variable(W))並更新它們,傳進來的 W、b 沒有變:請直接更新 W、b(W.assign_sub(lr * dW))。",
                       "`sgd_step` made new variables (such as tf.Variable(W)) and updated those, so the W and b "
                       "it was given did not change: update W and b themselves (W.assign_sub(lr * dW)).")
LOSS_AFTER = Cause("loss_after_update", "回傳的是更新後的損失:應回傳更新前(在 tape 裡算出)的損失。",
                   "the loss after the update is returned: return the one computed in the tape, before the update.")


def logits_variants(x, W, b):
    """(cause, logits) of the common mistakes of ``logits``."""
    xw = np.asarray(x, np.float64) @ np.asarray(W, np.float64)
    return [(MISSING_BIAS, xw), (BIAS_SUBTRACTED, xw - b), (SOFTMAX_IN_LOGITS, _softmax(xw + b)),
            (TRANSPOSED_LOGITS, (xw + b).T)]


def cross_entropy_variants(y, z):
    """(cause, loss) of the common mistakes of ``cross_entropy``."""
    z = np.asarray(z, np.float64)
    onehot = np.eye(10)[np.asarray(y, np.int64)]
    sigmoid = np.maximum(z, 0) - z * onehot + np.log1p(np.exp(-np.abs(z)))
    right = ref.cross_entropy(y, z)
    return [(SUM_NOT_MEAN, right * len(z)), (SOFTMAX_TWICE, ref.cross_entropy(y, _softmax(z))),
            (SIGMOID_LOSS, sigmoid.sum(axis=1).mean()), (SIGMOID_LOSS, sigmoid.mean()),
            (MEAN_OVER_CLASSES, right / 10)]


def accuracy_variants(y, z):
    """(cause, accuracy) of the common mistakes of ``accuracy``."""
    right = ref.accuracy(y, z)
    return [(ERROR_RATE, 1 - right), (COUNT_NOT_FRACTION, right * len(y)), (PERCENT, 100 * right),
            (FLOOR_DIVISION, float(np.floor(right)))]


def reported_variants(want, on_training, on_last_batch=float("nan")):
    """(cause, test_accuracy) of the common mistakes of the reported accuracy: ``want`` the right
    value, ``on_training`` and ``on_last_batch`` the accuracy of the same W, b on the training images
    and on the training loop's last batch (NaN: none)."""
    return [(PERCENT, 100 * want), (ON_TRAINING_SET, on_training), (ON_LAST_BATCH, on_last_batch),
            (ERROR_RATE, 1 - want)]


def step_variants(W0, b0, lr, dW, db):
    """(cause, W and b after one step, flattened) of the common mistakes of ``sgd_step``."""
    def flat(W, b):
        return np.concatenate([np.ravel(W), np.ravel(b)])
    return [(SIGN_REVERSED, flat(W0 + lr * dW, b0 + lr * db)),
            (LR_TWICE, flat(W0 - lr * lr * dW, b0 - lr * lr * db)),
            (LR_MISSING, flat(W0 - dW, b0 - db)),
            (B_NOT_UPDATED, flat(W0 - lr * dW, b0)),
            (ASSIGNED_THE_STEP, flat(lr * dW, lr * db))]


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
