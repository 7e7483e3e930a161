"""One test per check of the registry; a failure's message is what the student reads."""

import pytest

from autograde.assignment.registry import CHECKS


@pytest.mark.parametrize("check", CHECKS, ids=[c.grade_id for c in CHECKS])
def test_check(check, result):
    if not result.passed:
        pytest.fail(result.message, pytrace=False)
