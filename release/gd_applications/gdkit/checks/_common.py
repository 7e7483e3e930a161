"""Message helpers shared by the visible checks: bilingual text and friendly stub errors."""

from __future__ import annotations

import re
import traceback

import numpy as np

from gdkit.errors import cause_text, clean, explain


class CheckFailed(AssertionError):
    """A check found a wrong answer; the message says what was expected and the likely cause."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: the message alone, no checker code."""
        return ["✘ 未通過 failed", *str(self).splitlines()]


def say(zh: str, en: str) -> str:
    """One message in Traditional Chinese and English, zh-TW first."""
    return f"{zh}\n{en}"


def shown(value) -> str:
    """A value a student's function returned, as the student should read it: a number, not a tensor repr."""
    if value is None or isinstance(value, bool | int | float | str):
        return repr(value)
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - any object that is no array is shown by its type
        return type(value).__name__
    if array.size == 1 and array.dtype == bool:
        return str(bool(array.reshape(())))
    if array.size == 1 and np.issubdtype(array.dtype, np.number):
        return f"{float(array.reshape(())):g}" + ("" if array.shape == () else f" (shape {array.shape})")
    return f"{type(value).__name__} of shape {array.shape}"


#: A frame of notebook code quoted in TensorFlow's "in user code:" messages.
_QUOTED_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')


def _in_cell(filename: str) -> bool:
    """True for code typed into a notebook cell (ipykernel names it /tmp/ipykernel_…/….py)."""
    return "ipykernel" in filename or (filename.startswith("<") and not filename.startswith("<frozen"))


def _cell_name(filename: str) -> str:
    """``Cell In[5]`` as Jupyter shows it, where IPython knows the cell; else ``cell``."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        named = shell.compile.format_code_name(filename) if shell is not None else None
    except Exception:  # noqa: BLE001 - outside IPython (or another version of it) the plain name serves
        named = None
    return " ".join(named) if named else "cell"


def _cause(exc: BaseException) -> str:
    """The error's type and first meaningful line, without TensorFlow's op decorations."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    if lines and lines[0] == "in user code:":  # TensorFlow's tracing quotes frames, then the error
        lines = lines[-1:]
    first = clean((lines or [""])[0])[:300]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def student_line(exc: BaseException) -> str:
    """Where in the notebook ``exc`` was raised: ``Cell In[5], line 9, in fn`` and that line of code.

    The innermost frame of notebook code, or the one TensorFlow quotes in its message; '' when none.
    """
    import linecache

    frames = [(f.filename, f.lineno, f.name) for f in traceback.extract_tb(exc.__traceback__)]
    frames += [(m[1], int(m[2]), m[3]) for m in _QUOTED_FRAME.finditer(str(exc))]
    inner = next((f for f in reversed(frames) if _in_cell(f[0])), None)
    if inner is None:
        return ""
    filename, lineno, function = inner
    code = linecache.getline(filename, lineno).strip()
    where = f"{_cell_name(filename)}, line {lineno}, in {function}"
    return f"  你的程式 your code: {where}" + (f"\n    {code}" if code else "")


def call_student(fn, *args, name: str, hint: str = "", **kwargs):
    """Call the student's ``fn``; a stub that is still empty becomes a clear failure.

    Any other error raised by ``fn`` becomes a failure that names the error, the student's line
    that raised it and ``hint`` (the likely cause of that error in this exercise), not the stack
    of TensorFlow or of the checker. ``MemoryError`` passes through (the grader names its limit).
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
    except MemoryError:
        raise
    except CheckFailed:
        raise
    except Exception as exc:
        where = student_line(exc)
        text = f"`{name}` 出錯 raised {_cause(exc)}" + (f"\n{where}" if where else "")
        cause = explain(exc)
        text += f"\n{cause_text(cause[1], cause[2])}" if cause else ""
        raise CheckFailed(text + (f"\n{hint}" if hint else "")) from exc


def passed(what: str, not_checked: str) -> None:
    """Print the success line of a visible check, with what it did not check."""
    print(f"✔ 通過 passed: {what}\n  未檢查 not checked here: {not_checked}")


def as_scalar(value, name: str, reduce: str = "tf.reduce_mean") -> float:
    """The float inside a 0-d tensor or number; fails on more elements, naming ``reduce`` as the fix."""
    if value is None:
        raise CheckFailed(say(f"`{name}` 回傳了 None:是否忘了 `return`?",
                              f"`{name}` returned None: did you forget `return`?"))
    shape = tuple(getattr(value, "shape", ()))
    if shape not in ((), (1,)):
        raise CheckFailed(say(f"`{name}` 應回傳純量,卻得到形狀 {shape}:是否忘了 `{reduce}`?",
                              f"`{name}` should return a scalar, got shape {shape}: "
                              f"did you forget `{reduce}`?"))
    try:
        return float(np.asarray(value).reshape(()))
    except (TypeError, ValueError):
        raise CheckFailed(say(f"`{name}` 應回傳一個數(純量張量),卻回傳 {shown(value)}。",
                              f"`{name}` should return a number (a scalar tensor), got {shown(value)}.")) from None
