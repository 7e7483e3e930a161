"""Typical mistakes (tests/mistakes.py), judged from their functions in this process: each loses
exactly the unit checks of the function at fault, and the message names the cause."""

from __future__ import annotations

import re

import nbformat
import pytest

from autograde.judge import in_process_kernel, judge
from autograde.notebook import answer_namespace
from autograde.registry import CHECKS
from tests.examples import ROOT
from tests.mistakes import MISTAKES
from tests.test_judge import SETUP, UNIT

#: Framework text a student must never get in place of a cause.
CJK = re.compile(r"[\u4e00-\u9fff]")
INTERNALS = re.compile(r"\{\{function_node|<tf\.Tensor|Traceback|site-packages|__wrapped__|\[Op:")


def test_the_corpus_holds_at_least_thirty_cases_across_the_three_notebooks():
    assert len(MISTAKES) >= 30
    assert {m.notebook for m in MISTAKES} == {c.notebook for c in CHECKS}
    assert len({m.name for m in MISTAKES}) == len(MISTAKES)
    assert sum(not m.lost for m in MISTAKES) >= 6, "correct but unusual answers keep full marks"


@pytest.mark.slow
@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_a_mistake_loses_only_the_checks_of_the_function_at_fault_and_names_its_cause(mistake, tmp_path):
    nb = nbformat.read(ROOT / "source" / "gd_applications" / f"{mistake.notebook}.ipynb", as_version=4)
    ns = answer_namespace(nb, SETUP, replace=mistake.answers())
    lost = {}
    for check in (c for c in UNIT if c.notebook == mistake.notebook):
        verdict = judge(check, in_process_kernel(dict(ns), tmp_path), seed=0)
        if not verdict.passed:
            lost[check.grade_id] = verdict.message
    # a check that follows others may fail too, when it depends on a function at fault
    follows = {c.grade_id: set(c.follows) for c in CHECKS}
    assert set(mistake.lost) <= set(lost), lost
    for grade_id in set(lost) - set(mistake.lost):
        assert follows[grade_id] & set(mistake.lost), f"{grade_id} lost without its cause: {lost}"
    for grade_id, phrase in mistake.lost.items():
        assert phrase in lost[grade_id], lost[grade_id]
        assert CJK.search(lost[grade_id]), "the message speaks zh-TW too"
        assert not INTERNALS.search(lost[grade_id]), lost[grade_id]
