"""Name the likely cause of a wrong value: the common wrong variants of a computation.

An exercise's judge computes, with its NumPy reference, what each common mistake would have
produced (sum instead of mean, missing bias, sign of the update reversed, …) and asks
``which(got, variants)`` which one the student's value matches. The cause is then told in both
languages (``Cause.text``) and recorded by its ``id`` (``summary.json``'s ``cause``, the class
report's most frequent mistakes). ``find(message)`` recovers the cause from a message, for
front ends that keep only the text (nbgrader's autograded notebooks).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from gdkit.errors import TRANSLATIONS

#: Every cause an exercise has declared, by id (the first declared of an id).
CAUSES: dict[str, Cause] = {}
#: Every cause declared: exercises may word the same id for their own setting.
_DECLARED: list[Cause] = []


@dataclass(frozen=True)
class Cause:
    """A common mistake: a stable ``id`` and the sentence that names it in zh-TW and English."""

    id: str
    zh: str
    en: str

    def __post_init__(self):
        CAUSES.setdefault(self.id, self)
        _DECLARED.append(self)

    @property
    def text(self) -> str:
        return f"可能原因:{self.zh}\nLikely cause: {self.en}"


# the causes of TensorFlow errors, told in the kernel by gdkit.probe, are known here too
for _id, _pattern, _zh, _en in TRANSLATIONS:
    Cause(_id, re.sub(r"\{\d\}", "…", _zh), re.sub(r"\{\d\}", "…", _en))


def which(got, variants: Iterable[tuple[Cause, object]], rtol: float = 1e-4, floor: float = 1e-6) -> Cause | None:
    """The first cause whose value (an array or number) ``got`` matches within ``rtol`` (relative,
    with ``floor`` for values near 0); None when none does."""
    got = np.asarray(got, np.float64)
    for cause, value in variants:
        want = np.asarray(value, np.float64)
        if want.shape != got.shape or not np.all(np.isfinite(want)):
            continue
        scale = max(float(np.max(np.abs(want))) if want.size else 0.0, floor)
        if float(np.max(np.abs(got - want))) <= rtol * scale if got.size else False:
            return cause
    return None


def consistent(cases: Iterable[tuple[object, list[tuple[Cause, object]]]], rtol: float = 1e-4) -> Cause | None:
    """The first cause that explains every case, each ``(got, variants)``: a value and what each
    mistake would have given there (one case can fit several mistakes; all together fewer)."""
    cases = list(cases)
    if not cases:
        return None
    for cause, _ in cases[0][1]:
        if all(which(got, [(c, v) for c, v in variants if c is cause], rtol) for got, variants in cases):
            return cause
    return None


def find(message: str) -> Cause | None:
    """The declared cause whose English sentence ``message`` contains (… in a sentence stands for
    the values it names)."""
    for cause in reversed(_DECLARED):
        pattern = ".*?".join(re.escape(part) for part in f"Likely cause: {cause.en}".split("…"))
        if re.search(pattern, message):
            return cause
    return None
