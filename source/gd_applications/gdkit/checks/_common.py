"""Message helpers shared by the visible checks: bilingual text and friendly stub errors."""

from __future__ import annotations

import re
import traceback

import numpy as np

from gdkit.errors import advice, clean


class CheckFailed(AssertionError):
    """A check found a wrong answer; the message says what was expected and the likely cause."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: the message alone, no checker code."""
        return ["✘ 未通過", "✘ failed", *str(self).splitlines()]


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


def _cell_name(filename: str) -> str | None:
    """``Cell In[5]`` as Jupyter shows it, where IPython knows the cell; else None."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        named = shell.compile.format_code_name(filename) if shell is not None else None
    except Exception:  # noqa: BLE001 - outside IPython (or another version of it) the plain name serves
        named = None
    return " ".join(named) if named else None


def _cause(exc: BaseException) -> str:
    """The error's type and first meaningful line, without TensorFlow's op decorations."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    if lines and lines[0] == "in user code:":  # TensorFlow's tracing quotes frames, then the error
        lines = lines[-1:]
    first = clean((lines or [""])[0])[:300]
    name = type(exc).__name__
    if first.startswith(f"{name}: "):  # tracing repeats the type in the message
        first = first[len(name) + 2:]
    return f"{name}: {first}" if first else name


def student_frame(exc: BaseException) -> tuple[str | None, int, str, str] | None:
    """Where in the notebook ``exc`` was raised: (``Cell In[5]`` as Jupyter shows it, or None, line,
    function, that line of code); the innermost frame of notebook code, or the one TensorFlow quotes
    in its message; None when none."""
    import linecache

    frames = [(f.filename, f.lineno, f.name) for f in traceback.extract_tb(exc.__traceback__)]
    frames += [(m[1], int(m[2]), m[3]) for m in _QUOTED_FRAME.finditer(str(exc))]
    inner = next((f for f in reversed(frames) if _in_cell(f[0])), None)
    if inner is None:
        return None
    filename, lineno, function = inner
    return _cell_name(filename), lineno, function, linecache.getline(filename, lineno).strip()


def error_text(name: str | None, exc: BaseException) -> str:
    """A student's error (raised by function ``name``, or by notebook code when None) in lines of one
    language each: where (zh-TW), what TensorFlow or Python said (English, as raised), the line of
    code, then the likely cause or where to look."""
    who_zh, who_en = (f"`{name}` ", f"`{name}`") if name else ("你的程式", "Your code")
    frame = student_frame(exc)
    if frame:
        cell, lineno, function, code = frame
        cell_zh = f" `{cell}` " if cell else "儲存格"
        lines = [f"{who_zh}出錯(`{type(exc).__name__}`),在{cell_zh}第 {lineno} 行(`{function}` 裡)。",
                 f"{who_en} raised {_cause(exc)} ({cell or 'cell'}, line {lineno}, in {function})"]
        lines += [f"    {code}"] if code else []
    else:
        lines = [f"{who_zh}出錯(`{type(exc).__name__}`)。", f"{who_en} raised {_cause(exc)}"]
    extra = advice(exc)
    return "\n".join(lines + ([extra] if extra else []))


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_stub(exc: BaseException) -> bool:
    """True for an untouched ``raise NotImplementedError()``; not for TensorFlow's own
    NotImplementedError (e.g. ``.numpy()`` inside tf.function), which has a message."""
    inner = [e for e in _chain(exc) if isinstance(e, NotImplementedError)]
    return bool(inner) and not str(inner[-1]).strip()


def call_student(fn, *args, name: str, hint: str = "", **kwargs):
    """Call the student's ``fn``; a stub that is still empty becomes a clear failure.

    Any other error raised by ``fn`` becomes a failure that names the error, the student's line
    that raised it and its likely cause (or where to look), then ``hint``, not the stack of
    TensorFlow or of the checker. ``MemoryError`` passes through (the grader names its limit).
    A failure of a check inside ``fn`` (a nested call, compiled by tf.function) is kept as it is.
    """
    if not callable(fn):
        raise CheckFailed(say(f"`{name}` 不是函式。", f"`{name}` is not a function."))
    try:
        return fn(*args, **kwargs)
    except MemoryError:
        raise
    except CheckFailed:
        raise
    except Exception as exc:
        if is_stub(exc):
            raise CheckFailed(say(
                f"`{name}` 還沒有完成:請把 `raise NotImplementedError()` 換成你的程式碼。",
                f"`{name}` is not written yet: replace `raise NotImplementedError()` with your code.",
            )) from None
        nested = next((e for e in _chain(exc) if isinstance(e, CheckFailed)), None)
        if nested is not None:
            raise CheckFailed(str(nested)) from None
        raise CheckFailed(error_text(name, exc) + (f"\n{hint}" if hint else "")) from exc


def passed(what: str, not_checked: str, what_zh: str, not_checked_zh: str) -> None:
    """Print the success line of a visible check, with what it did not check, in zh-TW then English."""
    print(f"✔ 通過:{what_zh}\n  這裡沒有檢查:{not_checked_zh}\n✔ passed: {what}\n  not checked here: {not_checked}")


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
