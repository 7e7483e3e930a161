"""Run one probe for the grader: call your functions on the grader's inputs and hand back the values.

While grading, the grader (outside your kernel) sends inputs as a NumPy ``.npz`` file and runs
``serve(globals(), "gdkit.checks.linear_system:probe_loss", ("linear_system_loss",), FOLDER)``
in your kernel. ``serve`` calls the probe with your functions and the inputs, and saves what
came out (arrays only) to ``FOLDER/out.npz``, or a message to ``FOLDER/out.json`` when your
code raised. The grader then judges those values itself: nothing printed here is a verdict.
"""

from __future__ import annotations

import importlib
import json
import os

import numpy as np

from gdkit.checks._common import CheckFailed, _chain, call_student, error_text, say


def _not_defined(names: list[str]) -> str:
    listed = ", ".join(f"`{n}`" for n in names)
    return say(f"找不到 {listed}:是否改了名字,或沒有執行定義它的儲存格?",
               f"{listed} is not defined: was it renamed, or was the cell that defines it not run?")


def describe_error(exc: BaseException) -> str:
    """A student's exception in lines of one language each, with the line of notebook code that raised it."""
    if isinstance(exc, AssertionError) and str(exc):
        return str(exc)
    if any(isinstance(e, MemoryError) for e in _chain(exc)) or "MemoryError" in str(exc)[-300:]:
        limit = os.environ.get("GD_MEMORY_MB", "?")
        return say("記憶體不足:程式需要的記憶體超過評分程式允許的上限。",
                   f"memory limit: the code needed more memory than the {limit} MiB the grader allows (MemoryError).")
    return error_text(None, exc)


def serve(ns: dict, target: str, needs, folder: str) -> None:
    """Call probe ``target`` ("module:function") with ``ns[name] for name in needs`` and the inputs
    in ``folder/in.npz``; save its values to ``folder/out.npz`` or a message to ``folder/out.json``."""
    try:
        missing = [n for n in needs if n not in ns]
        if missing:
            raise CheckFailed(_not_defined(missing))
        module, _, name = target.partition(":")
        probe = getattr(importlib.import_module(module), name)
        with np.load(os.path.join(folder, "in.npz"), allow_pickle=False) as f:
            inputs = {k: f[k] for k in f.files}
        values = probe(*[ns[n] for n in needs], **inputs)
        arrays = {k: np.asarray(v) for k, v in values.items()}
        if any(a.dtype == object for a in arrays.values()):
            raise CheckFailed(say("回傳值不是數字陣列。", "A value handed to the grader is not a numeric array."))
        np.savez(os.path.join(folder, "out.npz"), **arrays)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise  # the grader's time limit: let the kernel report the interrupt
        with open(os.path.join(folder, "out.json"), "w", encoding="utf-8") as f:
            json.dump({"error": describe_error(exc)}, f, ensure_ascii=False)


def values(*objects) -> dict:
    """Probe of notebook variables: each object as a NumPy array, as ``v0``, ``v1``, … in order."""
    return {f"v{i}": np.asarray(o) for i, o in enumerate(objects)}


def weights(model) -> dict:
    """Probe of a trained Keras model: ``model.get_weights()`` as ``w0``, ``w1``, … in order."""
    return {f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}


def call(fn, **inputs) -> dict:
    """Probe of one function of arrays: ``fn(a0, a1, …)`` on the inputs named ``a0``, ``a1``, …, as ``out``."""
    args = [inputs[f"a{i}"] for i in range(len(inputs))]
    return {"out": np.asarray(call_student(fn, *args, name=getattr(fn, "__name__", "the function")))}
