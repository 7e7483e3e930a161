"""Every setting of the grading engine, declared once: its name, type, default, help and environment
variable (``SETTINGS``). ``docs/configuration.md`` is generated from them (``python
tools/configuration_reference.py``).

A process's settings are one ``GradingSettings`` object, ``current()``: the environment's (the
outside interface, ``GD_GRADING_*``), with what the front end set in their place (``configure``: a
command-line option, the course folder of ``nbgrader_config.py``). A front end that starts another grading process hands it ``to_env()``, never a
variable of its own. What the course asks of a kernel (``CourseView``: data it reads, data it must
not, environment, warm-up imports) is part of the object: the assignment's registry provides it
(``provide_course``), so that the kernel layer reads it without importing any exercise.

Limits that are constants of the grading contract (time, memory, sizes) are in ``autograde.limits``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: Prefix of the engine's environment variables (never passed to a kernel).
ENV_PREFIX = "GD_GRADING_"


@dataclass(frozen=True)
class CourseView:
    """What the course asks of a grading kernel.

    ``roots``: the course the graders read (hidden whole: solutions, references);
    ``read_only``: data files and folders its notebooks read (mounted read-only);
    ``hidden``: data no kernel may read, even inside a folder it sees (held-out images);
    ``env``: environment variables for the data (the kernel's own, ``GD_`` but not ``GD_GRADING_``);
    ``warm_up``: code a kernel started ahead runs before its notebook (imports).
    """

    roots: tuple[Path, ...] = ()
    read_only: tuple[Path, ...] = ()
    hidden: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    warm_up: str = ""


@dataclass(frozen=True)
class Setting:
    """One engine setting: ``name`` (a field of ``GradingSettings``), the variable that sets it from
    outside, how its text is read, its default and what it does."""

    name: str
    kind: str  # "int", "bool", "text", "path", "paths", "names"
    default: object
    help: str

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("seed", "int", 0,
            "Seed of every hidden check's inputs (mixed with each notebook's code). Read by the grader "
            "only; a kernel never sees it."),
    Setting("cache", "path", None,
            "Folder of the cached reference runs and solution timings (default ~/.cache/gd-applications)."),
    Setting("course", "path", None,
            "The nbgrader course folder: its source/, release/, submitted/, autograded/, feedback/ and "
            "gradebook are hidden from grading kernels. nbgrader_config.py sets it."),
    Setting("hide", "paths", (),
            "More folders no grading kernel may see (os.pathsep-separated): the class grader hides "
            "the class and its results this way."),
    Setting("allow_unsandboxed", "bool", False,
            "1: grade even where bubblewrap cannot sandbox the kernel (submissions could then read the "
            "graders). Same as --allow-unsandboxed and c.GradingKernelManager.allow_unsandboxed."),
    Setting("kernel_uid", "text", None,
            "One fixed uid for every grading kernel, or 'root' to keep kernels as root (by default, "
            "where the grader is root, each kernel runs as a uid of its own)."),
    Setting("kernel_threads", "int", None,
            "TensorFlow's intra-op threads in each kernel (default: the cores shared by the kernels "
            "running at once)."),
    Setting("fork_kernels", "bool", True,
            "0: start every kernel cold instead of forking it from a process per submission that "
            "imported TensorFlow once."),
    Setting("exchange", "path", None,
            "nbgrader's exchange folder, shared by the instructor and every student account (default "
            "exchange/ in the course folder). Read by nbgrader_config.py."),
    Setting("exercises", "names", (),
            "Comma-separated modules of exercises kept outside autograde/exercises, graded after the "
            "built-in ones."),
)

def _parse(setting: Setting, text: str):
    """The value ``text`` gives ``setting``; an empty text is the default."""
    if not text.strip():
        return setting.default
    if setting.kind == "int":
        return int(text) if text.strip().lstrip("-").isdigit() else setting.default
    if setting.kind == "bool":
        return text.strip().lower() in ("1", "true", "yes", "on")
    if setting.kind == "path":
        return Path(text) if text else None
    if setting.kind == "paths":
        return tuple(Path(p) for p in text.split(os.pathsep) if p)
    if setting.kind == "names":
        return tuple(n.strip() for n in text.split(",") if n.strip())
    return text or None


def _text(setting: Setting, value) -> str | None:
    if value is None or value == setting.default:
        return None
    if setting.kind == "bool":
        return "1" if value else "0"
    if setting.kind == "paths":
        return os.pathsep.join(str(p) for p in value)
    if setting.kind == "names":
        return ",".join(value)
    return str(value)


@dataclass(frozen=True)
class GradingSettings:
    """The engine's settings of one grading process (each field is declared in ``SETTINGS``)."""

    seed: int = 0
    cache: Path | None = None
    course: Path | None = None
    hide: tuple[Path, ...] = ()
    allow_unsandboxed: bool = False
    kernel_uid: str | None = None
    kernel_threads: int | None = None
    fork_kernels: bool = True
    exchange: Path | None = None
    exercises: tuple[str, ...] = ()
    #: what the course asks of a kernel; None until the registry provides it (``provide_course``)
    view: CourseView | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GradingSettings:
        """The settings the environment gives (``os.environ`` by default); unset ones, their defaults."""
        environ = os.environ if environ is None else environ
        values = {s.name: _parse(s, environ[s.env]) for s in SETTINGS if s.env in environ}
        return cls(**values)

    def replace(self, **changes) -> GradingSettings:
        return dataclasses.replace(self, **changes)

    def to_env(self) -> dict[str, str]:
        """These settings as the environment of another grading process: every declared setting,
        an empty value for one at its default (so that the child does not inherit a different one)."""
        return {s.env: _text(s, getattr(self, s.name)) or "" for s in SETTINGS}

    @property
    def course_view(self) -> CourseView:
        """What the course asks of a kernel; raises when no registry provided it (a kernel started
        then would miss the course's hidden data)."""
        if self.view is not None:
            return self.view
        if _provider is not None:
            return _provider()
        raise RuntimeError("no course view: grading kernels need the assignment's (what they read and "
                           "must not). Fix: import autograde.assignment.registry before starting a kernel.")

    @property
    def cache_folder(self) -> Path:
        return self.cache or Path.home() / ".cache" / "gd-applications"


_overrides: dict[str, object] = {}
_provider: Callable[[], CourseView] | None = None


def current() -> GradingSettings:
    """This process's settings: the environment's as it is now, with what a front end set
    (``configure``) in their place."""
    return GradingSettings.from_env().replace(**_overrides)


def configure(**changes) -> GradingSettings:
    """Set ``changes`` (fields of ``GradingSettings``) for the rest of this process; returns the result."""
    unknown = set(changes) - {f.name for f in dataclasses.fields(GradingSettings)}
    if unknown:
        raise TypeError(f"not a grading setting: {', '.join(sorted(unknown))}")
    _overrides.update(changes)
    return current()


@contextlib.contextmanager
def use(**changes) -> Iterator[GradingSettings]:
    """The current settings with ``changes``, for the time of a ``with`` block."""
    before = dict(_overrides)
    try:
        yield configure(**changes)
    finally:
        _overrides.clear()
        _overrides.update(before)


def provide_course(provider: Callable[[], CourseView]) -> None:
    """Called once by the assignment's registry: how the course view is made (``course_view``)."""
    global _provider
    _provider = provider
