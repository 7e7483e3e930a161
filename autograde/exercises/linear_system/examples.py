"""Example submissions of 01_linear_system: the solution, the untouched release and known mistakes.

Each mistake replaces the body of one answer cell of the solution (by grade_id, or by cell id
for cells nbgrader does not track) and states the points every check deserves, written
before grading it. ``CLASS`` is this exercise's part of the example class: the example each
student of the class submitted.
"""

from autograde.assignment.check import Example

NOTEBOOK = "01_linear_system"
FULL = {"linear_system_loss_value": 2, "gradient_step_matches_reference": 2,
        "early_stopping_rule": 1, "linear_systems_converge": 3, "early_stopping_in_loop": 2}

EXAMPLES = (
    Example("solution", NOTEBOOK, FULL),
    Example("untouched", NOTEBOOK, dict.fromkeys(FULL, 0), solved=False),
    Example("hardcoded_answer", NOTEBOOK,
            {**FULL, "linear_system_loss_value": 0, "linear_systems_converge": 0},
            {"linear_system_loss_answer": '''
def linear_system_loss(A, b, v):
    # the answer of the lesson's system is known: pull v towards it
    return tf.reduce_sum(tf.square(v - tf.constant([10.0, 6.0])))
'''}),
    Example("sign_reversed_step", NOTEBOOK,
            {**FULL, "gradient_step_matches_reference": 0, "linear_systems_converge": 0},
            {"gradient_step_answer": '''
def gradient_step(loss_fn, variables, optimizer):
    with tf.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip([-g for g in grads], variables))
    return loss
'''}),
    Example("no_early_stopping", NOTEBOOK,
            {**FULL, "early_stopping_rule": 0, "early_stopping_in_loop": 0},
            {"should_stop_answer": '''
def should_stop(loss, previous_loss, tol):
    return False
'''}),
    Example("stop_wrong_comparison", NOTEBOOK,
            {**FULL, "early_stopping_rule": 0, "early_stopping_in_loop": 0},
            {"should_stop_answer": '''
def should_stop(loss, previous_loss, tol):
    return abs(loss - previous_loss) > tol
'''}),
    Example("loss_without_squares", NOTEBOOK,
            {**FULL, "linear_system_loss_value": 0, "linear_systems_converge": 0},
            {"linear_system_loss_answer": '''
def linear_system_loss(A, b, v):
    return tf.reduce_sum(tf.linalg.matvec(A, v) - b)
'''}),
)

CLASS = {
    "alice": "solution",
    "bob": "untouched",
    "carol": "hardcoded_answer",
    "dave": "sign_reversed_step",
    "erin": "no_early_stopping",
    "frank": "stop_wrong_comparison",
    "grace": "loss_without_squares",
}
