"""What a grading kernel sees: the one statement of it, read by every way a kernel starts
(``autograde.kernel.manager`` cold, ``autograde.kernel.forked`` forked).

Its environment is an allow-list (no engine setting reaches it); the graders, the course they
read and the data the course hides are not visible (``hidden_paths``); Python and the course's data
are, read-only. What the course asks (``settings.CourseView``) comes with the settings object, so
this layer never imports an exercise.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

from autograde import settings

#: The graders (the ``autograde`` package, wherever it is installed).
GRADERS = Path(__file__).resolve().parents[1]
#: The kernel program: an IPython kernel under memory and file-size limits.
LAUNCHER = Path(__file__).resolve().parent / "limited.py"

#: What a sandboxed kernel must not see in the course folder (``GD_GRADING_COURSE``) besides
#: the repository, which is hidden whole: solutions, other students' work, the gradebook.
HIDDEN_IN_COURSE = ("source", "release", "submitted", "autograded", "feedback", "inbound", "outbound",
                    "downloaded", "gradebook.db", "grading-results", "results", "grades.csv", ".git")

#: Environment a grading kernel may inherit: the system's basics and the student-side ``GD_``
#: settings (data, seeds, budgets), never the engine's ``GD_GRADING_`` ones.
KERNEL_ENV_ALLOWED = re.compile(r"(PATH|LANG|LANGUAGE|LC_\w+|TZ|TERM|TF_\w+|MPLBACKEND|PYTHONHASHSEED|"
                                r"KERAS_HOME|NBGRADER_EXECUTION|OMP_NUM_THREADS|GD_\w+)")
#: Set in every grading kernel: quiet TensorFlow, no display, grading mode.
KERNEL_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "MPLBACKEND": "Agg",
    "PYTHONHASHSEED": "0",
    "NBGRADER_EXECUTION": "autograde",
}


def kernel_env(base: dict[str, str]) -> dict[str, str]:
    """``base`` reduced to the allow-list, plus ``KERNEL_ENV``."""
    env = {k: v for k, v in base.items()
           if KERNEL_ENV_ALLOWED.fullmatch(k) and not k.startswith(settings.ENV_PREFIX)}
    return {**env, **KERNEL_ENV}


def grading_kernel_env(base: dict[str, str]) -> dict[str, str]:
    """What a grading kernel's environment is made of: ``kernel_env(base)`` and the course's data
    settings (``CourseView.env``); HOME and KERAS_HOME are set per kernel on top."""
    return {**kernel_env(base), **settings.current().course_view.env}


def hidden_paths(extra: list[str] | tuple[str, ...] = ()) -> tuple[Path, ...]:
    """Paths a grading kernel must not see: the graders and the course they read (the repository in a
    checkout), the data the course hides (``CourseView.hidden``: the grader's held-out images and their
    sources), the nbgrader course's ``HIDDEN_IN_COURSE``, ``extra`` and the ``hide`` setting."""
    now = settings.current()
    view = now.course_view
    paths = [GRADERS, *view.roots, *view.hidden]
    if now.course:
        paths += [now.course / name for name in HIDDEN_IN_COURSE]
    return tuple(paths) + tuple(Path(p) for p in (*extra, *now.hide))


def read_only_data() -> tuple[Path, ...]:
    """Data a grading kernel reads, mounted read-only (``CourseView.read_only``)."""
    return settings.current().course_view.read_only


def python_paths() -> list[Path]:
    """The running Python and its environment (venv, base installation): the kernel runs them."""
    return sorted({Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parent.parent})


def keras_home() -> Path:
    """Keras' folder of the grading user (its dataset cache): the kernel, whose HOME is a scratch
    folder, is pointed at the same one."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")


def seed_font_cache(home: Path) -> None:
    """Copy the grader's matplotlib font lists (``fontlist-v*.json`` of its cache folder, if any)
    into ``home/.cache/matplotlib``, where a kernel whose HOME is ``home`` looks first: its first
    matplotlib import then reads the list instead of scanning the fonts (about 0.3 s less,
    ``bench/grading_time.py``). A list that names a font since removed makes matplotlib scan again,
    and a CJK font installed since is found by ``gdkit.plotting.use_cjk_font`` all the same."""
    own = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "matplotlib")
    lists = [p for p in Path(own).glob("fontlist-v*.json") if p.is_file() and not p.is_symlink()]
    if lists:
        dest = home / ".cache" / "matplotlib"
        dest.mkdir(parents=True, exist_ok=True)
        for path in lists:
            shutil.copyfile(path, dest / path.name)
