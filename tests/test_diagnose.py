"""Naming the cause of a wrong value (autograde/diagnose.py, gdkit/errors.py), without notebooks."""

from __future__ import annotations

import numpy as np

import autograde.registry  # noqa: F401 - declares every exercise's causes
from autograde import diagnose
from gdkit import errors


def test_every_declared_cause_is_found_again_in_a_message_that_tells_it():
    assert len(diagnose.CAUSES) >= 25
    for cause in diagnose._DECLARED:
        message = f"On a batch the loss should be 2.3, got 4.6.\n{cause.text}"
        assert diagnose.find(message).id == cause.id


def test_a_value_matches_the_mistake_that_would_have_produced_it_and_no_other():
    a, b = diagnose.Cause("test_a", "甲", "a"), diagnose.Cause("test_b", "乙", "b")
    assert diagnose.which(2.0, [(a, 1.0), (b, 2.0000001)]) is b
    assert diagnose.which(3.0, [(a, 1.0), (b, 2.0)]) is None
    assert diagnose.which(np.zeros(3), [(a, np.zeros(2)), (b, np.full(3, np.nan))]) is None, "shape or NaN"


def test_the_cause_that_explains_every_case_wins_over_one_that_fits_only_some():
    mean, half = diagnose.Cause("test_mean", "平均", "mean"), diagnose.Cause("test_half", "一半", "half")
    # on a 2-vector a mean and half the sum agree; on a 3-vector only one of them fits
    cases = [(2.0, [(mean, 2.0), (half, 2.0)]), (3.0, [(mean, 2.0), (half, 3.0)])]
    assert diagnose.consistent(cases) is half


def test_tensorflow_errors_are_told_by_cause_without_framework_internals():
    exc = ValueError("{{function_node __wrapped__Equal_device_/job:localhost/replica:0/task:0/device:CPU:0}} "
                     "Incompatible shapes: [10] vs. [4] [Op:Equal] name: ")
    cause_id, zh, en = errors.explain(exc)
    assert cause_id == "incompatible_shapes" and "[10] vs [4]" in en and "axis" in en and "axis" in zh
    assert errors.clean(str(exc)) == "Incompatible shapes: [10] vs. [4]"
    assert errors.clean("got <tf.Tensor: shape=(), dtype=float32, numpy=34946.1>") == "got 34946.1"
    assert errors.explain(TypeError("unsupported operand type(s) for *: 'float' and 'NoneType'"))[0] == "gradient_none"
    assert errors.explain(KeyError("x")) is None
