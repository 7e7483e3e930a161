"""Code that runs inside the student's kernel when the pytest graders grade a notebook.

The runner replaces each test cell by a call to ``report``; ``report`` runs the check
and publishes its outcome as display data of a private MIME type, tagged with a nonce
that the student's code cannot know in advance.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import traceback

# The runner imports this module in a first cell, before any student code: the check and
# export functions are bound here then, so a student cell that replaces them in
# ``autograde.registry`` later does not change what ``report`` runs.
from autograde.registry import export_values as _export_values
from autograde.registry import run_check as _run_check

MIME = "application/vnd.gdgrade.result+json"


def _message(exc: BaseException) -> str:
    if isinstance(exc, AssertionError) and str(exc):
        return str(exc)
    if isinstance(exc, MemoryError):
        limit = os.environ.get("GDGRADE_MEMORY_MB", "?")
        return (f"memory limit: the code needed more memory than the {limit} MiB the grader allows "
                "(MemoryError)")
    # an error inside the student's code: show where it happened, briefly
    tb = traceback.extract_tb(exc.__traceback__)
    where = next((f"{f.filename}:{f.lineno} in {f.name}" for f in reversed(tb)
                  if "ipykernel" in f.filename or f.filename.startswith("<")), "")
    text = f"{type(exc).__name__}: {exc}"
    return f"{text} (raised at {where})" if where else text


def report(grade_id: str, ns: dict, nonce: str, export_path: str | None = None) -> None:
    """Run check ``grade_id`` on namespace ``ns`` and publish ``{passed, message, seconds}``.

    With ``export_path``, also save the values the grader re-checks outside this kernel.
    """
    from IPython.display import display

    start = time.perf_counter()
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            _run_check(grade_id, ns)
        passed, message = True, ""
    except Exception as exc:  # noqa: BLE001 - any failure of student code is a result
        passed, message = False, _message(exc)
    if export_path and passed:
        try:
            _export_values(grade_id, ns, export_path)
        except Exception as exc:  # noqa: BLE001 - the grader reports the missing values
            message = f"could not export values for the grader: {_message(exc)}"
    result = {"grade_id": grade_id, "passed": passed, "message": message,
              "seconds": round(time.perf_counter() - start, 3), "nonce": nonce}
    display({MIME: result, "text/plain": f"{grade_id}: {'passed' if passed else 'failed'}"}, raw=True)
