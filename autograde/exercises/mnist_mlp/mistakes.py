"""Common mistakes of exercise 2: what each would have produced, computed with NumPy, and its cause.

One-hot labels y (N, 10), probabilities p (N, 10) (the network's softmax output).
"""

from __future__ import annotations

import numpy as np

from autograde.assignment.diagnose import Cause
from autograde.exercises.mnist_mlp import reference as ref

SUM_NOT_MEAN = Cause("sum_instead_of_mean", "對整批取了總和,應取平均(tf.reduce_mean)。",
                     "the batch is summed, not averaged: take tf.reduce_mean over the batch.")
FROM_LOGITS_ON_PROBABILITIES = Cause(
    "from_logits_on_probabilities",
    "對機率用了 from_logits=True:網路最後一層已經是 softmax,損失要用 from_logits=False(預設)。",
    "from_logits=True is applied to probabilities: the network already ends in a softmax, so the loss "
    "takes from_logits=False (the default).")
ARGUMENTS_SWAPPED = Cause("arguments_swapped", "y_true 與 y_pred 的順序反了:損失是 loss(y_true, y_pred)。",
                          "y_true and y_pred are swapped: the loss is loss(y_true, y_pred).")
MEAN_OVER_CLASSES = Cause("mean_over_classes_too",
                          "平均也除以了類別數:先對每張圖的十類加總,再對整批平均。",
                          "the mean also runs over the classes: sum over the classes of each image, then "
                          "average over the batch.")

MINUS_MISSING = Cause("minus_sign_missing", "損失是正確值的相反數:交叉熵是 −Σ y_true·ln(y_pred),負號漏了。",
                      "the loss is the right value negated: the cross-entropy is −Σ y_true·ln(y_pred), and its "
                      "minus sign is missing.")
SQUARED_ERROR = Cause("squared_error_not_cross_entropy",
                      "算成了平方誤差 (y_true − y_pred)²,不是交叉熵 −Σ y_true·ln(y_pred)。",
                      "this is a squared error (y_true − y_pred)², not the cross-entropy −Σ y_true·ln(y_pred).")


def loss_variants(y_true, y_pred):
    """(cause, loss) of the common mistakes of ``mnist_loss``."""
    y, p = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    right = ref.cross_entropy(y, p)
    log_softmax = p - p.max(axis=1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(axis=1, keepdims=True))
    return [(SUM_NOT_MEAN, right * len(y)),
            (FROM_LOGITS_ON_PROBABILITIES, float(np.mean(-np.sum(y * log_softmax, axis=1)))),
            (ARGUMENTS_SWAPPED, ref.cross_entropy(p, y)),
            (MEAN_OVER_CLASSES, right / y.shape[1]),
            (MINUS_MISSING, -right),
            (SQUARED_ERROR, float(np.mean((y - p) ** 2))),  # tf.keras.losses.MSE, averaged
            (SQUARED_ERROR, float(np.mean(np.sum((y - p) ** 2, axis=1))))]
