"""Seeds and log silencing, so that results repeat and TensorFlow's noise stays out of test cells."""

from __future__ import annotations

import logging
import os
import random
import warnings

import numpy as np


def seed_everything(seed: int = 0) -> None:
    """Seed Python's ``random``, NumPy and TensorFlow (if it is imported) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)


def quiet_tensorflow() -> None:
    """Keep TensorFlow's Python-side warnings (retracing, deprecations) off stderr.

    nbgrader scores a test cell that writes to stderr as 0, so warnings must not
    reach a test cell. The C++ start-up lines are controlled by the environment
    variables ``TF_CPP_MIN_LOG_LEVEL`` and ``TF_ENABLE_ONEDNN_OPTS``, read when
    TensorFlow starts: each notebook's setup cell sets them before importing it.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # absl comes with TensorFlow; without it there is nothing to quiet
        pass
    warnings.filterwarnings("ignore", module=r"(tensorflow|keras)(\..*)?$")
