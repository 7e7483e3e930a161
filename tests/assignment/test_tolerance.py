"""The tolerance helper: relative error with a floor, and messages that show both values."""

import math

import numpy as np
import pytest

from gdkit.tolerance import assert_close, rel_error


def test_relative_error_is_relative_above_the_floor_and_absolute_below():
    assert rel_error([10.0, 6.0], [10.0, 6.0]) == 0
    assert rel_error([10.1], [10.0]) == pytest.approx(0.01)
    assert rel_error([0.01], [0.0]) == pytest.approx(0.01)  # floor 1: absolute near zero
    assert rel_error([0.01], [0.0], floor=1e-3) == pytest.approx(10.0)


def test_nan_or_inf_is_infinitely_wrong():
    assert rel_error([math.nan], [1.0]) == math.inf
    assert rel_error([math.inf], [1.0]) == math.inf


def test_assert_close_names_what_was_compared_and_the_hint():
    with pytest.raises(AssertionError, match=r"x: expected .*10.*got .*11.*relative error 1.00e-01.*sign"):
        assert_close(np.array(11.0), 10.0, tol=1e-3, what="x", hint="sign?")
    with pytest.raises(AssertionError, match="expected shape"):
        assert_close([1.0, 2.0], [1.0], tol=1, what="v")
    assert assert_close([10.001], [10.0], tol=1e-3, what="x") < 1e-3
