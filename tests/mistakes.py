"""Typical mistakes of a class, and correct but unusual answers, with what each deserves.

Each case changes one or two answer cells of a solution notebook (a text replaced in the
solution's cell, by grade_id) and states, before grading, the *unit* checks it must lose and a
phrase the first message of each must contain (the cause named). Every other unit check keeps
its points: a mistake is charged once, to the function at fault. ``tests/assignment/test_mistakes.py``
judges each case's functions in this process (no notebook); a few are also graded as whole
notebooks by both front ends in ``tests/corpus.py``, end-to-end checks included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import nbformat

from autograde.assignment.notebook import answer_sources
from tests.examples import ROOT

LS, MLP, LR = "01_linear_system", "02_mnist_gradient_tape", "03_logistic_regression"


@dataclass(frozen=True)
class Mistake:
    """``edits``: (answer grade_id, text of the solution's cell, its replacement); ``lost``: unit
    check grade_id → phrase of its message (empty: a correct answer, full points); ``unexplained``:
    no known mistake fits, so the messages name no cause (they say what was measured and expected)."""

    name: str
    notebook: str
    edits: tuple[tuple[str, str, str], ...]
    lost: dict[str, str] = field(default_factory=dict)
    unexplained: bool = False

    def answers(self) -> dict[str, str]:
        """The changed answer cells, by grade_id."""
        nb = nbformat.read(ROOT / "source" / "gd_applications" / f"{self.notebook}.ipynb", as_version=4)
        sources = answer_sources(nb)
        out: dict[str, str] = {}
        for grade_id, old, new in self.edits:
            text = out.get(grade_id, sources[grade_id])
            if old not in text:
                raise ValueError(f"{self.name}: {old!r} is not in the solution's cell {grade_id}")
            out[grade_id] = text.replace(old, new)
        return out


def _one(name, notebook, grade_id, old, new, lost=None, unexplained=False) -> Mistake:
    return Mistake(name, notebook, ((grade_id, old, new),), lost or {}, unexplained)


LS_LOSS, LS_STEP, LS_STOP = "linear_system_loss_answer", "gradient_step_answer", "should_stop_answer"
RIGHT_LS_LOSS = "return tf.reduce_sum(tf.square(residuals))"
LS_TAPE = "    with tf.GradientTape() as tape:\n        loss = loss_fn()\n"
MLP_LOSS, MLP_STEP, MLP_STOP = "mnist_loss_answer", "train_step_answer", "early_stopping_answer"
RIGHT_MLP_LOSS = "return tf.reduce_mean(tf.keras.losses.categorical_crossentropy(y_true, y_pred))"
LR_LOGITS, LR_ACC, LR_STEP = "logits_and_loss_answer", "accuracy_answer", "sgd_step_answer"
RIGHT_CE = "return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=z))"
LR_TAPE = "    with tf.GradientTape() as tape:\n        loss = cross_entropy(y, logits(x, W, b))\n"

MISTAKES = (
    # ------------------------------------------------------------------ 01: the linear system
    _one("loss_mean_instead_of_sum", LS, LS_LOSS, RIGHT_LS_LOSS, "return tf.reduce_mean(tf.square(residuals))",
         {"linear_system_loss_value": "averaged"}),
    _one("loss_norm_not_squared", LS, LS_LOSS, RIGHT_LS_LOSS, "return tf.norm(residuals)",
         {"linear_system_loss_value": "length of the residual"}),
    _one("loss_half_of_the_sum", LS, LS_LOSS, RIGHT_LS_LOSS, "return 0.5 * tf.reduce_sum(tf.square(residuals))",
         {"linear_system_loss_value": "extra ½"}),
    _one("loss_absolute_residuals", LS, LS_LOSS, RIGHT_LS_LOSS, "return tf.reduce_sum(tf.abs(residuals))",
         {"linear_system_loss_value": "absolute residuals"}),
    _one("loss_transposed_matrix", LS, LS_LOSS, "tf.linalg.matvec(A, v)", "tf.linalg.matvec(A, v, transpose_a=True)",
         {"linear_system_loss_value": "A is transposed"}),
    _one("loss_through_numpy", LS, LS_LOSS, RIGHT_LS_LOSS,
         "return tf.constant(np.sum((A.numpy() @ v.numpy() - b.numpy()) ** 2))",
         {"linear_system_loss_value": "cannot be differentiated"}),
    _one("step_loss_outside_the_tape", LS, LS_STEP, LS_TAPE,
         "    loss = loss_fn()\n    with tf.GradientTape() as tape:\n        pass\n",
         {"gradient_step_matches_reference": "outside the `with` block of tf.GradientTape"}),
    _one("step_returns_the_loss_after_the_update", LS, LS_STEP, "    return loss\n", "    return loss_fn()\n",
         {"gradient_step_matches_reference": "the loss before the update"}),
    _one("step_sign_reversed", LS, LS_STEP, "grads = tape.gradient(loss, variables)",
         "grads = [-g for g in tape.gradient(loss, variables)]",
         {"gradient_step_matches_reference": "uphill"}),
    _one("stop_rule_without_abs", LS, LS_STOP, "abs(loss - previous_loss) < tol", "loss - previous_loss < tol",
         {"early_stopping_rule": "should"}),
    _one("stop_rule_comparison_reversed", LS, LS_STOP, "abs(loss - previous_loss) < tol",
         "abs(loss - previous_loss) > tol", {"early_stopping_rule": "should"}),
    _one("step_applied_twice", LS, LS_STEP, "    optimizer.apply_gradients(zip(grads, variables))\n",
         "    optimizer.apply_gradients(zip(grads, variables))\n    optimizer.apply_gradients(zip(grads, variables))\n",
         {"gradient_step_matches_reference": "updates twice"}),
    _one("step_without_the_optimizer", LS, LS_STEP, "    optimizer.apply_gradients(zip(grads, variables))\n",
         "    for var, grad in zip(variables, grads):\n        var.assign_sub(optimizer.learning_rate * grad)\n",
         {"gradient_step_matches_reference": "optimizer passed in is not used"}),
    _one("loss_as_a_dot_product", LS, LS_LOSS, RIGHT_LS_LOSS, "return tf.tensordot(residuals, residuals, 1)"),
    _one("step_with_optimizer_apply", LS, LS_STEP, "optimizer.apply_gradients(zip(grads, variables))",
         "optimizer.apply(grads, variables)"),
    _one("stop_rule_with_isclose", LS, LS_STOP, "return abs(loss - previous_loss) < tol",
         "return math.isclose(loss, previous_loss, rel_tol=0.0, abs_tol=tol)"),
    # ------------------------------------------------------------------ 02: the MNIST network
    _one("mnist_loss_sum_instead_of_mean", MLP, MLP_LOSS, RIGHT_MLP_LOSS,
         "return tf.reduce_sum(tf.keras.losses.categorical_crossentropy(y_true, y_pred))",
         {"mnist_loss_value": "summed, not averaged"}),
    _one("mnist_loss_from_logits_on_probabilities", MLP, MLP_LOSS, RIGHT_MLP_LOSS,
         "return tf.reduce_mean(tf.keras.losses.categorical_crossentropy(y_true, y_pred, from_logits=True))",
         {"mnist_loss_value": "from_logits=True is applied to probabilities"}),
    _one("mnist_loss_arguments_swapped", MLP, MLP_LOSS, RIGHT_MLP_LOSS,
         "return tf.reduce_mean(tf.keras.losses.categorical_crossentropy(y_pred, y_true))",
         {"mnist_loss_value": "swapped"}),
    _one("mnist_loss_sparse_with_one_hot_labels", MLP, MLP_LOSS, RIGHT_MLP_LOSS,
         "return tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y_true, y_pred))",
         {"mnist_loss_value": "one-hot"}),
    _one("mnist_loss_mean_over_classes_too", MLP, MLP_LOSS, RIGHT_MLP_LOSS,
         "return -tf.reduce_mean(y_true * tf.math.log(y_pred))",
         {"mnist_loss_value": "over the classes"}),
    _one("train_step_training_false", MLP, MLP_STEP, "model(x, training=True)", "model(x, training=False)",
         {"train_step_training_mode": "training=True"}),
    _one("train_step_loss_outside_the_tape", MLP, MLP_STEP,
         "    with tf.GradientTape() as tape:\n        y_pred = model(x, training=True)\n        loss = loss_fn(y, y_pred)\n",
         "    y_pred = model(x, training=True)\n    loss = loss_fn(y, y_pred)\n    with tf.GradientTape() as tape:\n"
         "        pass\n",
         {"train_step_lowers_loss": "gradient", "train_step_training_mode": "gradient"}),
    _one("early_stopping_never_restores", MLP, MLP_STOP,
         "        if self.best_weights is not None:\n            model.set_weights(self.best_weights)\n",
         "        pass\n", {"early_stopping_restores_best": "weights"}),
    _one("mnist_loss_as_a_keras_loss_object", MLP, MLP_LOSS, RIGHT_MLP_LOSS,
         "return tf.keras.losses.CategoricalCrossentropy()(y_true, y_pred)"),
    _one("mnist_loss_written_out", MLP, MLP_LOSS, RIGHT_MLP_LOSS,
         "return -tf.reduce_mean(tf.reduce_sum(y_true * tf.math.log(tf.clip_by_value(y_pred, 1e-7, 1.0)), axis=1))"),
    # ------------------------------------------------------------------ 03: logistic regression
    _one("logits_missing_bias", LR, LR_LOGITS, "return tf.matmul(x, W) + b", "return tf.matmul(x, W)",
         {"logits_and_loss_value": "bias is missing"}),
    _one("logits_through_softmax", LR, LR_LOGITS, "return tf.matmul(x, W) + b",
         "return tf.nn.softmax(tf.matmul(x, W) + b)", {"logits_and_loss_value": "should not go through softmax"}),
    _one("cross_entropy_sum_instead_of_mean", LR, LR_LOGITS, RIGHT_CE,
         "return tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=z))",
         {"logits_and_loss_value": "summed, not averaged"}),
    _one("cross_entropy_softmax_twice", LR, LR_LOGITS, RIGHT_CE,
         "return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=tf.nn.softmax(z)))",
         {"logits_and_loss_value": "softmax is applied twice"}),
    _one("cross_entropy_sigmoid", LR, LR_LOGITS, RIGHT_CE,
         "return tf.reduce_mean(tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=z), axis=1))",
         {"logits_and_loss_value": "sigmoid cross-entropy"}),
    _one("cross_entropy_sparse_with_one_hot_labels", LR, LR_LOGITS, RIGHT_CE,
         "return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=z))",
         {"logits_and_loss_value": "one-hot"}),
    _one("accuracy_argmax_over_the_batch", LR, LR_ACC, "tf.argmax(z, axis=1)", "tf.argmax(z, axis=0)",
         {"accuracy_value": "axis"}),
    _one("logits_transposed", LR, LR_LOGITS, "return tf.matmul(x, W) + b", "return tf.transpose(tf.matmul(x, W) + b)",
         {"logits_and_loss_value": "logits are transposed"}),
    _one("accuracy_compares_int64_with_int32", LR, LR_ACC, "tf.cast(y_true, tf.int64)", "tf.cast(y_true, tf.int32)",
         {"accuracy_value": "data types do not match"}),
    _one("accuracy_is_the_error_rate", LR, LR_ACC, "tf.equal(", "tf.not_equal(", {"accuracy_value": "error rate"}),
    _one("accuracy_counts_instead_of_fraction", LR, LR_ACC, "tf.reduce_mean(tf.cast(", "tf.reduce_sum(tf.cast(",
         {"accuracy_value": "number right"}),
    _one("sgd_sign_reversed", LR, LR_STEP, "W.assign_sub(lr * dW)\n    b.assign_sub(lr * db)",
         "W.assign_add(lr * dW)\n    b.assign_add(lr * db)", {"sgd_step_matches_reference": "sign reversed"}),
    _one("sgd_learning_rate_twice", LR, LR_STEP, "W.assign_sub(lr * dW)\n    b.assign_sub(lr * db)",
         "W.assign_sub(lr * lr * dW)\n    b.assign_sub(lr * lr * db)",
         {"sgd_step_matches_reference": "applied twice"}),
    _one("sgd_learning_rate_missing", LR, LR_STEP, "W.assign_sub(lr * dW)\n    b.assign_sub(lr * db)",
         "W.assign_sub(dW)\n    b.assign_sub(db)", {"sgd_step_matches_reference": "learning rate is not applied"}),
    _one("sgd_bias_not_updated", LR, LR_STEP, "    b.assign_sub(lr * db)\n", "",
         {"sgd_step_matches_reference": "only W is updated"}),
    _one("sgd_loss_outside_the_tape", LR, LR_STEP, LR_TAPE,
         "    loss = cross_entropy(y, logits(x, W, b))\n    with tf.GradientTape() as tape:\n        pass\n",
         {"sgd_step_matches_reference": "gradient is None"}),
    _one("sgd_returns_the_loss_after_the_update", LR, LR_STEP, "    return loss\n",
         "    return cross_entropy(y, logits(x, W, b))\n", {"sgd_step_matches_reference": "after the update"}),
    _one("sgd_computes_scores_and_loss_itself", LR, LR_STEP, "loss = cross_entropy(y, logits(x, W, b))",
         "loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(\n"
         "            labels=tf.cast(y, tf.int32), logits=tf.matmul(x, W) + b))"),
    _one("sgd_with_assign", LR, LR_STEP, "W.assign_sub(lr * dW)\n    b.assign_sub(lr * db)",
         "W.assign(W - lr * dW)\n    b.assign(b - lr * db)"),
    _one("cross_entropy_sparse_keras_loss", LR, LR_LOGITS, RIGHT_CE,
         "return tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y_true, z, from_logits=True))"),
    # ------------------------------------------------------------------ issue 25: recognised with a hint of their own
    _one("mnist_loss_minus_sign_missing", MLP, MLP_LOSS, RIGHT_MLP_LOSS,
         "return tf.reduce_mean(tf.reduce_sum(y_true * tf.math.log(y_pred), axis=1))",
         {"mnist_loss_value": "minus sign is missing"}),
    _one("mnist_loss_squared_error", MLP, MLP_LOSS, RIGHT_MLP_LOSS, "return tf.reduce_mean(tf.square(y_true - y_pred))",
         {"mnist_loss_value": "squared error"}),
    _one("mnist_loss_keras_mean_squared_error", MLP, MLP_LOSS, RIGHT_MLP_LOSS,
         "return tf.keras.losses.MeanSquaredError()(y_true, y_pred)",
         {"mnist_loss_value": "squared error"}),
    _one("accuracy_in_percent", LR, LR_ACC, "return tf.reduce_mean(", "return 100 * tf.reduce_mean(",
         {"accuracy_value": "multiplied by 100"}),
    _one("accuracy_floor_division", LR, LR_ACC,
         "return tf.reduce_mean(tf.cast(tf.equal(predicted, tf.cast(y_true, tf.int64)), tf.float32))",
         "correct = tf.reduce_sum(tf.cast(tf.equal(predicted, tf.cast(y_true, tf.int64)), tf.int32))\n"
         "    return correct // tf.size(y_true)", {"accuracy_value": "rounded down"}),
    _one("accuracy_mean_of_integers", LR, LR_ACC, "tf.cast(y_true, tf.int64)), tf.float32))",
         "tf.cast(y_true, tf.int64)), tf.int32))", {"accuracy_value": "rounded down"}),
    _one("sgd_updates_copies_of_the_variables", LR, LR_STEP, "    W.assign_sub(lr * dW)\n",
         "    W, b = tf.Variable(W), tf.Variable(b)\n    W.assign_sub(lr * dW)\n",
         {"sgd_step_matches_reference": "made new variables"}),
    _one("sgd_numpy_inside_the_compiled_step", LR, LR_STEP, "W.assign_sub(lr * dW)", "W.assign_sub(lr * dW.numpy())",
         {"sgd_step_matches_reference": "inside a compiled function"}),
    _one("sgd_variable_numpy_inside_the_compiled_step", LR, LR_STEP, "W.assign_sub(lr * dW)",
         "W.assign(W.numpy() - lr * dW)", {"sgd_step_matches_reference": "inside a compiled function"}),
    _one("loss_matmul_of_a_vector", LS, LS_LOSS, "tf.linalg.matvec(A, v)", "tf.matmul(A, v)",
         {"linear_system_loss_value": "tf.linalg.matvec(A, v)"}),
    _one("loss_elementwise_product", LS, LS_LOSS, "tf.linalg.matvec(A, v)", "A * v",
         {"linear_system_loss_value": "element by element"}),
    # ------------------------------------------------------------------ more of our own
    _one("step_zip_swapped", LS, LS_STEP, "zip(grads, variables)", "zip(variables, grads)",
         {"gradient_step_matches_reference": "(gradient, variable) pairs"}),
    _one("train_step_zip_swapped", MLP, MLP_STEP, "zip(grads, model.trainable_variables)",
         "zip(model.trainable_variables, grads)",
         {"train_step_lowers_loss": "(gradient, variable) pairs", "train_step_training_mode": "(gradient, variable) pairs"}),
    _one("train_step_with_model_predict", MLP, MLP_STEP, "y_pred = model(x, training=True)",
         "y_pred = model.predict(x, verbose=0)",
         {"train_step_lowers_loss": "inside a compiled function", "train_step_training_mode": "no gradients at all"}),
    _one("loss_column_minus_row", LS, LS_LOSS, "tf.linalg.matvec(A, v)", "tf.matmul(A, tf.reshape(v, (-1, 1)))",
         {"linear_system_loss_value": "column"}),
    _one("loss_square_of_the_sum", LS, LS_LOSS, RIGHT_LS_LOSS, "return tf.square(tf.reduce_sum(residuals))",
         {"linear_system_loss_value": "summed, then squared"}),
    _one("sgd_assign_instead_of_assign_sub", LR, LR_STEP, "W.assign_sub(lr * dW)\n    b.assign_sub(lr * db)",
         "W.assign(lr * dW)\n    b.assign(lr * db)", {"sgd_step_matches_reference": "set to lr·dW itself"}),
    _one("accuracy_mean_of_booleans", LR, LR_ACC, "tf.reduce_mean(tf.cast(tf.equal(predicted, tf.cast(y_true, tf.int64)), "
         "tf.float32))", "tf.reduce_mean(tf.equal(predicted, tf.cast(y_true, tf.int64)))",
         {"accuracy_value": "takes no booleans"}),
    _one("cross_entropy_labels_not_one_hot", LR, LR_LOGITS, "labels = tf.one_hot(tf.cast(y_true, tf.int32), 10)",
         "labels = tf.cast(y_true, tf.float32)", {"logits_and_loss_value": "labels of the logits' shape"}),
    _one("cross_entropy_one_hot_of_floats", LR, LR_LOGITS, "tf.one_hot(tf.cast(y_true, tf.int32), 10)",
         "tf.one_hot(tf.cast(y_true, tf.float32), 10)", {"logits_and_loss_value": "tf.one_hot needs integer labels"}),
    _one("early_stopping_equal_loss_is_an_improvement", MLP, MLP_STOP, "val_loss < self.best_loss",
         "val_loss <= self.best_loss", {"early_stopping_restores_best": "strictly lower"}),
    _one("loss_residuals_reversed", LS, LS_LOSS, "tf.linalg.matvec(A, v) - b", "b - tf.linalg.matvec(A, v)"),
    _one("loss_product_summed_by_rows", LS, LS_LOSS, "tf.linalg.matvec(A, v)", "tf.reduce_sum(A * v, axis=1)"),
    _one("accuracy_with_the_equality_operator", LR, LR_ACC, "tf.equal(predicted, tf.cast(y_true, tf.int64))",
         "predicted == tf.cast(y_true, tf.int64)"),
    # ------------------------------------------------------------------ no known mistake fits: no cause is named
    _one("mnist_loss_scaled", MLP, MLP_LOSS, RIGHT_MLP_LOSS,
         "return 1.5 * tf.reduce_mean(tf.keras.losses.categorical_crossentropy(y_true, y_pred))",
         {"mnist_loss_value": "should be"}, unexplained=True),
    _one("accuracy_scaled", LR, LR_ACC, "return tf.reduce_mean(", "return 0.9 * tf.reduce_mean(",
         {"accuracy_value": "should be"}, unexplained=True),
    _one("sgd_rebinds_the_names", LR, LR_STEP, "W.assign_sub(lr * dW)\n    b.assign_sub(lr * db)",
         "W = W - lr * dW\n    b = b - lr * db", {"sgd_step_matches_reference": "the same after the call"},
         unexplained=True),
    _one("sgd_half_a_step", LR, LR_STEP, "W.assign_sub(lr * dW)\n    b.assign_sub(lr * db)",
         "W.assign_sub(0.5 * lr * dW)\n    b.assign_sub(0.5 * lr * db)", {"sgd_step_matches_reference": "differs from"},
         unexplained=True),
    _one("loss_tripled", LS, LS_LOSS, RIGHT_LS_LOSS, "return 3.0 * tf.reduce_sum(tf.square(residuals))",
         {"linear_system_loss_value": "should be"}, unexplained=True),
    # one mistake, charged once: the step is right, and keeps its points, though logits are wrong
    Mistake("logits_missing_bias_with_a_correct_step", LR,
            ((LR_LOGITS, "return tf.matmul(x, W) + b", "return tf.matmul(x, W)"),),
            {"logits_and_loss_value": "bias is missing"}),
)


# ------------------------------------------------------------------ one language per line
#: Characters of a zh-TW line: CJK ideographs and full-width punctuation.
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
#: Words a zh-TW line keeps in English: names of the course's tools and terms it teaches by them.
TERMS = frozenset({"tf", "TensorFlow", "NumPy", "Keras", "kernel", "tape", "optimizer", "Adam", "SGD", "Dropout",
                   "BatchNormalization", "softmax", "sigmoid", "logits", "one-hot", "sparse", "categorical",
                   "epoch", "axis", "ln", "True", "False", "None", "MiB", "MNIST", "Python",
                   "lr", "dW", "db", "tol"})  # and the variables of the lesson's formulas
_CODE = (re.compile(r"`[^`]*`"),                               # code in backticks
         re.compile(r"[\w.]+\([^()]*\)"),                       # a call, innermost first
         re.compile(r"\b[A-Za-z_]\w*(\.\w+)+"),                # a dotted name
         re.compile(r"\b\w*_\w*\b"))                           # a snake_case name


def mixed_lines(text: str) -> list[str]:
    """The lines of ``text`` that mix languages: a line with zh-TW text and English words beyond
    code and ``TERMS`` (a line without zh-TW is English, or code)."""
    mixed = []
    for line in text.splitlines():
        if not CJK.search(line):
            continue
        rest = line
        for pattern in _CODE:
            while pattern.search(rest):
                rest = pattern.sub(" ", rest)
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]*[A-Za-z]", rest) if w not in TERMS]
        if words:
            mixed.append(line)
    return mixed
