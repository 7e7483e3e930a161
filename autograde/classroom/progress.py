"""What ``gdgrade grade`` shows while a class is graded: a progress bar with an ETA on an
interactive terminal (``rich``), plain lines where the output is a log (CI, a file, a pipe); a
line when a student's grading starts and one when it ends (points, seconds); a closing summary.

Names, files and messages come from the submissions: they are printed as plain text
(``inert.plain``: no terminal escapes) and never read as rich markup.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from autograde.grading.inert import plain


def duration(seconds: float) -> str:
    """``seconds`` as a reader counts them: ``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def interactive(stream) -> bool:
    """Whether ``stream`` is a terminal a bar can be redrawn on: a tty that is not ``TERM=dumb``;
    rich's ``TTY_INTERACTIVE=0`` / ``1`` turns the bar off / on whatever the stream is."""
    forced = os.environ.get("TTY_INTERACTIVE")
    if forced in ("0", "1"):
        return forced == "1"
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and Console(file=stream).is_interactive


def first_line(text: str, limit: int = 200) -> str:
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[:limit - 1] + "…"


class ClassProgress:
    """The running display of one class grading; ``started`` and ``ended`` may be called from
    the grading threads. Counts only what happened: a student is graded when their grader ran."""

    def __init__(self, total: int, stream=None, console: Console | None = None):
        self.total, self.stream = total, stream or sys.stdout
        self.live = console is not None or interactive(self.stream)
        self.console = console or (Console(file=self.stream) if self.live else None)
        self.t0 = time.perf_counter()
        self.done = self.graded = self.not_graded = self.with_problems = 0
        self.points = self.max_points = 0.0
        self._lock = threading.Lock()
        self._running: dict[str, float] = {}
        self._bar: Progress | None = None

    def __enter__(self) -> ClassProgress:
        if self.live:
            self._bar = Progress(
                TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TextColumn("students"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                TextColumn("{task.description}", markup=False),
                console=self.console, refresh_per_second=2, speed_estimate_period=24 * 3600)
            self._task = self._bar.add_task("", total=self.total)
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def say(self, text: str) -> None:
        """Print one line above the bar (or to the log)."""
        text = plain(text)
        with self._lock:
            if self._bar is not None:
                self.console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)
            else:
                print(text, file=self.stream, flush=True)

    def _describe(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=plain(", ".join(self._running)))

    def started(self, name: str, files: list[str]) -> None:
        """A student's grader is starting now (not when the student was queued)."""
        with self._lock:
            self._running[name] = time.perf_counter()
            self._describe()
        self.say(f"  start  {name}: {', '.join(files) or 'no notebooks'}")

    def ended(self, name: str, summary: dict) -> None:
        """A student's grading is over: their points, the seconds it took, what was wrong."""
        with self._lock:
            seconds = time.perf_counter() - self._running.pop(name, self.t0)
            self.done += 1
            failed = summary.get("status") == "not graded"
            self.not_graded += failed
            self.graded += not failed
            problems = summary.get("problems", [])
            self.with_problems += bool(problems) and not failed
            if not failed:
                self.points += summary.get("points", 0)
                self.max_points += summary.get("max_points", 0)
            done, left = self.done, self.total - self.done
            elapsed = time.perf_counter() - self.t0
            self._describe()
            if self._bar is not None:
                self._bar.advance(self._task)
        result = (f"not graded: {first_line(summary.get('error', ''))}" if failed
                  else f"{summary.get('points', 0):g}/{summary.get('max_points', 0):g} points")
        eta = f", about {duration(elapsed / done * left)} left" if left and self._bar is None else ""
        self.say(f"  end    {name}: {result}, {duration(seconds)}  [{done}/{self.total}{eta}]"
                 + "".join(f"\n      ! {p}" for p in problems))

    def summary(self) -> str:
        """The closing line: students graded and not, total points, time."""
        parts = [f"graded {self.graded} of {self.total} students"
                 + (f" ({self.with_problems} with problems)" if self.with_problems else "")]
        if self.not_graded:
            parts.append(f"{self.not_graded} not graded (their row in grades.csv says why)")
        if self.graded:
            parts.append(f"{self.points:g}/{self.max_points:g} points in all, "
                         f"{self.points / self.graded:.1f} per student")
        return "; ".join(parts) + f"; {duration(time.perf_counter() - self.t0)}"
