"""Exercise 2: MNIST with a GradientTape training loop (notebook 02_mnist_gradient_tape)."""

from autograde.assignment.check import Check
from autograde.exercises import mnist_data
from autograde.exercises.mnist_mlp import checks

NOTEBOOK = checks.NOTEBOOK

CHECKS = (
    Check("mnist_loss_value", NOTEBOOK, 2,
          "The loss is the mean categorical cross-entropy of one-hot labels.", checks.loss_value),
    Check("train_step_lowers_loss", NOTEBOOK, 2,
          "Training steps on one fixed batch lower its loss, compiled with tf.function, exactly as the "
          "grader's own steps do.", checks.step_lowers_loss),
    Check("train_step_training_mode", NOTEBOOK, 1,
          "The step calls the model with training=True, so that Dropout acts.", checks.training_mode,
          follows=("train_step_lowers_loss",)),
    Check("early_stopping_restores_best", NOTEBOOK, 2,
          "Early stopping on scripted validation losses stops in time and restores the best weights.",
          checks.early_stopping),
    Check("mlp_test_accuracy", NOTEBOOK, 3,
          "The trained network reaches the accuracy threshold on the grader's own test set.",
          checks.mlp_accuracy, visible=False, judged_after="train_mnist_given",
          follows=('mnist_loss_value', 'train_step_lowers_loss')),
)

#: The kernel reads the grader's view of MNIST, never its held-out images.
DATA_PATHS = mnist_data.data_paths
DATA_ENV = mnist_data.data_env
DATA_HIDDEN = mnist_data.data_hidden

#: Run in a kernel started ahead, before the notebook: the setup cell's slow imports
#: (TensorFlow's about 4.5 s).
WARM_UP = "import tensorflow\nimport matplotlib.pyplot\nimport sklearn.model_selection"
