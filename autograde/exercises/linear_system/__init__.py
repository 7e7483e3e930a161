"""Exercise 1: a linear system solved by gradient descent (notebook 01_linear_system)."""

from autograde.assignment.check import Check
from autograde.exercises.linear_system import checks

NOTEBOOK = "01_linear_system"

CHECKS = (
    Check("linear_system_loss_value", NOTEBOOK, 2,
          "The loss is the sum of squared residuals, at known points and on new systems.",
          checks.loss_value),
    Check("gradient_step_matches_reference", NOTEBOOK, 2,
          "One step lowers the loss and equals a reference SGD and Adam step.",
          checks.step_matches_reference),
    Check("early_stopping_rule", NOTEBOOK, 1,
          "The stopping rule |Δloss| < tol on hand-made pairs of losses.",
          checks.stop_rule),
    Check("linear_systems_converge", NOTEBOOK, 3,
          "The loss and step solve the lesson's three systems and unseen ones from random starts.",
          checks.systems_converge, visible=False,
          follows=('linear_system_loss_value', 'gradient_step_matches_reference')),
    Check("early_stopping_in_loop", NOTEBOOK, 2,
          "Inside the loop the rule stops well before the epoch limit, near the solution.",
          checks.early_stopping_in_loop, visible=False,
          follows=('early_stopping_rule',)),
)

#: Run in a kernel started ahead, before the notebook: the setup cell's slow imports
#: (TensorFlow's about 4.5 s).
WARM_UP = "import tensorflow\nimport matplotlib.pyplot"
