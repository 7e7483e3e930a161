"""Gradescope's results.json, for the class grader and for the Gradescope autograder alike.

``results(summary)`` turns a grading summary (``autograde.reports.summary``) into Gradescope's format:
one test per check; checks with a visible part are ``visible``, hidden-only ones
``after_published`` (students read why they lost points once grades are published). When
grading itself fails, the reason goes to a test only staff see (``hidden``, 0 points) and
students read one line saying so.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

#: Visibility of a check with a visible part, of a hidden-only check, and of staff-only reports.
VISIBLE, AFTER_PUBLISHED, STAFF_ONLY = "visible", "after_published", "hidden"
#: What a student reads when grading broke (the reason is in a staff-only test).
GRADING_FAILED = ("Grading could not finish, for reasons outside your work; the course staff can see "
                  "the details. / 評分未能完成（與你的作答無關），助教可看到詳細原因。")
#: How Gradescope shows every output and name: as text, never HTML, Markdown or ANSI (student
#: text inside a message stays text; terminal escapes are removed besides, ``inert.plain``).
TEXT = "text"
def results(summary: dict, seconds: float | None = None) -> dict:
    """Gradescope's results.json for one grading summary (see the module)."""
    from autograde.grading.inert import plain

    tests = []
    for i, nb in enumerate(summary.get("notebooks", []), start=1):
        for j, c in enumerate(nb["checks"], start=1):
            text = c["description"] if c["status"] == "passed" else f"{c['description']}\n\n{c['message']}"
            tests.append({"name": f"{nb['notebook']}: {c['grade_id']}", "number": f"{i}.{j}",
                          "score": c["points"], "max_score": c["max_points"],
                          "status": "passed" if c["status"] == "passed" else "failed",
                          "visibility": AFTER_PUBLISHED if c.get("hidden_only") else VISIBLE,
                          "output": plain(text), "output_format": TEXT, "name_format": TEXT})
    notes = list(summary.get("problems", []))
    if summary.get("error"):
        notes.append(GRADING_FAILED)
        tests.append({"name": "grading failed (staff only)", "score": 0, "max_score": 0, "status": "failed",
                      "visibility": STAFF_ONLY, "output": plain(summary["error"]), "output_format": TEXT,
                      "name_format": TEXT})
    out = {"score": summary.get("points", 0), "output": plain("\n".join(notes)), "output_format": TEXT,
           "test_output_format": TEXT, "test_name_format": TEXT, "visibility": VISIBLE,
           "stdout_visibility": STAFF_ONLY, "tests": tests}
    if seconds is not None:
        out["execution_time"] = round(seconds)
    return out


def write_results(folder: Path, data: dict) -> Path:
    """Write ``folder/results.json``, replacing whatever is there (a file, a link) without following it."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        folder.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".results-", suffix=".json")  # O_EXCL: a fresh file
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
    target = folder / "results.json"
    os.replace(tmp, target)  # replaces a planted link itself, never its target
    os.chmod(target, 0o644)
    return target
