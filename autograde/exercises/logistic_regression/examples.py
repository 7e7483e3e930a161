"""Example submissions of 03_logistic_regression: the solution, the untouched release and known mistakes.

Each mistake replaces the body of one answer cell of the solution (by grade_id, or by cell id
for cells nbgrader does not track) and states the points every check deserves, written
before grading it. ``CLASS`` is this exercise's part of the example class: the example each
student of the class submitted.
"""

from autograde.assignment.check import Example

NOTEBOOK = "03_logistic_regression"
FULL = {"logits_and_loss_value": 2, "accuracy_value": 1, "sgd_step_matches_reference": 2,
        "loss_decreases": 2, "test_accuracy_reported": 1, "logreg_test_accuracy": 2}

EXAMPLES = (
    Example("solution", NOTEBOOK, FULL),
    Example("untouched", NOTEBOOK, dict.fromkeys(FULL, 0), solved=False),
    Example("sgd_reversed_sign", NOTEBOOK,
            {**FULL, "sgd_step_matches_reference": 0, "loss_decreases": 0, "logreg_test_accuracy": 0},
            {"sgd_step_answer": '''
def sgd_step(x, y, W, b, lr):
    with tf.GradientTape() as tape:
        loss = cross_entropy(y, logits(x, W, b))
    dW, db = tape.gradient(loss, [W, b])
    W.assign_add(lr * dW)
    b.assign_add(lr * db)
    return loss
'''}),
    Example("learning_rate_zero", NOTEBOOK, {**FULL, "loss_decreases": 0, "logreg_test_accuracy": 0},
            {"hyperparameters": '''
LEARNING_RATE = 0.0
BATCH_SIZE = 128
N_STEPS = budget("LOGREG_STEPS", 2000)
'''}),
    Example("accuracy_on_training_batch", NOTEBOOK, {**FULL, "test_accuracy_reported": 0},
            {"test_accuracy_answer": '''
test_accuracy = float(accuracy(batch_y, logits(batch_x, W, b)))
print(f"測試準確率 test accuracy: {test_accuracy:.4f} on {len(y_test):,} images")
'''}),
)

CLASS = {
    "alice": "solution",
    "bob": "untouched",
    "carol": "learning_rate_zero",
    "dave": "sgd_reversed_sign",
    "erin": "accuracy_on_training_batch",
    "frank": "solution",
    "grace": "untouched",
}
