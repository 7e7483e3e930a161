"""Message helpers shared by the visible checks: bilingual text and friendly stub errors."""

from __future__ import annotations

import numpy as np


class CheckFailed(AssertionError):
    """A check found a wrong answer; the message says what was expected and the likely cause."""


def say(zh: str, en: str) -> str:
    """One message in Traditional Chinese and English, zh-TW first."""
    return f"{zh}\n{en}"


def call_student(fn, *args, name: str, hint: str = "", **kwargs):
    """Call the student's ``fn``; a stub that is still empty becomes a clear failure.

    With ``hint``, any other error raised by ``fn`` becomes a failure that names the error
    and adds the hint (the likely cause of that error in this exercise).
    """
    if not callable(fn):
        raise CheckFailed(say(f"`{name}` 不是函式。", f"`{name}` is not a function."))
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(
            say(
                f"`{name}` 還沒有完成:請把 `raise NotImplementedError()` 換成你的程式碼。",
                f"`{name}` is not written yet: replace `raise NotImplementedError()` with your code.",
            )
        ) from None
    except Exception as exc:
        if not hint:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise CheckFailed(f"`{name}` raised {type(exc).__name__}: {first}\n{hint}") from exc


def passed(what: str, not_checked: str) -> None:
    """Print the success line of a visible check, with what it did not check."""
    print(f"✔ 通過 passed: {what}\n  未檢查 not checked here: {not_checked}")


def as_scalar(value, name: str, reduce: str = "tf.reduce_mean") -> float:
    """The float inside a 0-d tensor or number; fails on more elements, naming ``reduce`` as the fix."""
    shape = tuple(getattr(value, "shape", ()))
    if shape not in ((), (1,)):
        raise CheckFailed(say(f"`{name}` 應回傳純量,卻得到形狀 {shape}:是否忘了 `{reduce}`?",
                              f"`{name}` should return a scalar, got shape {shape}: "
                              f"did you forget `{reduce}`?"))
    return float(np.asarray(value).reshape(()))
