"""Exercise 3: logistic regression on MNIST by SGD (notebook 03_logistic_regression)."""

from autograde.assignment.check import Check
from autograde.exercises import mnist_data
from autograde.exercises.logistic_regression import checks

NOTEBOOK = checks.NOTEBOOK

CHECKS = (
    Check("logits_and_loss_value", NOTEBOOK, 2,
          "Logits x·W + b and the mean softmax cross-entropy equal the reference.", checks.logits_and_loss),
    Check("accuracy_value", NOTEBOOK, 1,
          "Accuracy is the fraction of argmax predictions equal to the labels.", checks.accuracy_value),
    Check("sgd_step_matches_reference", NOTEBOOK, 2,
          "One SGD step equals W − lr·dW, b − lr·db from a fixed point.", checks.sgd_step),
    Check("loss_decreases", NOTEBOOK, 2,
          "The training loss falls: recorded windows, and the grader's own full training loss.",
          checks.loss_decreases, visible=False, judged_after="train_logistic_given",
          follows=('logits_and_loss_value', 'sgd_step_matches_reference')),
    Check("test_accuracy_reported", NOTEBOOK, 1,
          "The reported accuracy is measured on the test set, not on a training batch.",
          checks.reported_accuracy, visible=False,
          follows=('logits_and_loss_value', 'accuracy_value')),
    Check("logreg_test_accuracy", NOTEBOOK, 2,
          "The trained W, b reach the accuracy threshold on the grader's own test set.",
          checks.logreg_accuracy, visible=False, judged_after="train_logistic_given",
          follows=('logits_and_loss_value', 'sgd_step_matches_reference')),
)

#: The kernel reads the grader's view of MNIST, never its held-out images.
DATA_PATHS = mnist_data.data_paths
DATA_ENV = mnist_data.data_env
DATA_HIDDEN = mnist_data.data_hidden

#: Run in a kernel started ahead, before the notebook: the setup cell's slow imports
#: (TensorFlow's about 4.5 s).
WARM_UP = "import tensorflow\nimport matplotlib.pyplot"
