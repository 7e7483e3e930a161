"""Example submissions of 02_mnist_gradient_tape: the solution, the untouched release and known mistakes.

Each mistake replaces the body of one answer cell of the solution (by grade_id, or by cell id
for cells nbgrader does not track) and states the points every check deserves, written
before grading it. ``CLASS`` is this exercise's part of the example class: the example each
student of the class submitted.
"""

from autograde.assignment.check import Example

NOTEBOOK = "02_mnist_gradient_tape"
FULL = {"mnist_loss_value": 2, "train_step_lowers_loss": 2, "train_step_training_mode": 1,
        "early_stopping_restores_best": 2, "mlp_test_accuracy": 3}

EXAMPLES = (
    Example("solution", NOTEBOOK, FULL),
    Example("untouched", NOTEBOOK, dict.fromkeys(FULL, 0), solved=False),
    Example("loss_not_one_hot", NOTEBOOK, {**FULL, "mnist_loss_value": 0, "mlp_test_accuracy": 0},
            {"mnist_loss_answer": '''
def mnist_loss(y_true, y_pred):
    # treats the one-hot labels as if they were class numbers
    return tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y_true, y_pred))
'''}),
    Example("no_training_mode", NOTEBOOK, {**FULL, "train_step_training_mode": 0},
            {"train_step_answer": '''
def train_step(model, optimizer, loss_fn, x, y):
    with tf.GradientTape() as tape:
        y_pred = model(x)
        loss = loss_fn(y, y_pred)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss
'''}),
    Example("never_restores_weights", NOTEBOOK, {**FULL, "early_stopping_restores_best": 0},
            {"early_stopping_answer": '''
class EarlyStopping:
    def __init__(self, patience):
        self.patience = patience
        self.best_loss = math.inf
        self.best_weights = None
        self.wait = 0

    def step(self, val_loss, model):
        if val_loss < self.best_loss:
            self.best_loss = val_loss
            self.wait = 0
            return False
        self.wait += 1
        return self.wait >= self.patience

    def restore_best(self, model):
        pass
'''}),
)

CLASS = {
    "alice": "solution",
    "bob": "untouched",
    "carol": "no_training_mode",
    "dave": "loss_not_one_hot",
    "erin": "never_restores_weights",
    "frank": "solution",
    "grace": "solution",
}
