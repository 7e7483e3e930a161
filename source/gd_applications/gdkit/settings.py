"""Training budgets and seeds that an instructor can change without editing notebooks.

A notebook asks ``budget("MLP_EPOCHS", 10)``; the environment variable ``GD_MLP_EPOCHS``
overrides the default (for example in ``nbgrader_config.py`` to shorten grading). Accuracy
thresholds of the hidden tests are calibrated for the defaults.
"""

from __future__ import annotations

import os


def budget(name: str, default: int) -> int:
    """``int($GD_<name>)`` when set, else ``default``; a bad value names the variable."""
    raw = os.environ.get(f"GD_{name}")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"GD_{name}={raw!r} is not a whole number: unset it or give e.g. {default}") from None
    if value <= 0:
        raise ValueError(f"GD_{name}={value} must be positive (default {default})")
    return value


def notebook_seed() -> int:
    """The seed a notebook starts from: ``$GD_SEED`` or 0."""
    return int(os.environ.get("GD_SEED", "0"))


def grading() -> bool:
    """True while nbgrader or the pytest graders execute the notebook."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))
