"""The benchmarks write their own tables into ``docs/design/performance.md``.

``python bench/NAME.py ARGS --doc`` runs the benchmark as usual and then replaces its section of
the page (between ``<!-- bench/NAME.py -->`` and ``<!-- end bench/NAME.py -->``, appended at the
end the first time) with what it printed, the command and the date: the page's figures are always
a run's own output, never typed in.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "design" / "performance.md"


class _Tee(io.TextIOBase):
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text: str) -> int:
        for s in self.streams:
            s.write(text)
        return len(text)

    def flush(self) -> None:
        for s in self.streams:
            s.flush()


def section(script: str, command: str, output: str, when: datetime.date, cores: int | None) -> str:
    """The page's section for one run of ``script``."""
    return (f"<!-- {script} -->\n"
            f"`{command}` on {when.isoformat()}, {cores} cores:\n\n"
            f"```text\n{output.rstrip()}\n```\n"
            f"<!-- end {script} -->")


def replace(page: str, script: str, new: str) -> str:
    """``page`` with ``script``'s section replaced by ``new`` (appended when it has none)."""
    start, end = f"<!-- {script} -->", f"<!-- end {script} -->"
    if start in page and end in page:
        a = page.index(start)
        b = page.index(end, a) + len(end)
        return page[:a] + new + page[b:]
    return page.rstrip("\n") + f"\n\n### {script}\n\n{new}\n"


def run(main: Callable[[], object], script_file: str) -> object:
    """Run a benchmark's ``main``; with ``--doc`` among the arguments, publish what it printed."""
    if "--doc" not in sys.argv[1:]:
        return main()
    sys.argv.remove("--doc")
    script = Path(script_file).resolve().relative_to(ROOT).as_posix()
    command = " ".join(["python", script, *sys.argv[1:]])
    printed = io.StringIO()
    with contextlib.redirect_stdout(_Tee(sys.stdout, printed)):
        result = main()
    page = DOC.read_text(encoding="utf-8") if DOC.is_file() else "# Performance\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(replace(page, script, section(script, command, printed.getvalue(),
                                                 datetime.date.today(), os.cpu_count())), encoding="utf-8")
    print(f"wrote {script}'s section of {DOC}")
    return result
