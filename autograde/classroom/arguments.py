"""Command-line values of ``gdgrade`` checked before any work: whole numbers with their unit,
folders that exist, the package's version, and errors on one line that name the fix."""

from __future__ import annotations

import argparse
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "gd-applications-course"
LAYOUTS = ("nbgrader's SUBMITTED/<student>/gd_applications/*.ipynb, a folder per student "
           "(SUBMITTED/<student>/*.ipynb) or notebooks named by student (SUBMITTED/<student>.ipynb)")


def version() -> str:
    """The installed package's version (``importlib.metadata``), or why there is none."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return f"unknown ({DISTRIBUTION} is not installed; Fix: pip install -e . in the course folder)"


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line: the argument, what is wrong, the fix."""

    def error(self, message: str):
        end = "" if message.endswith(".") else "."
        self.exit(2, f"{self.prog}: {message}{end} See `{self.prog} --help`.\n")


def at_least_one(unit: str):
    """An argparse ``type``: a whole number of ``unit``, 1 or more."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number. Fix: give a number of {unit}, "
                                             "1 or more") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{value} is not allowed. Fix: give a number of {unit}, 1 or more")
        return value

    parse.__name__ = unit
    return parse


def submissions_folder(path: Path) -> Path:
    """``path`` if it is a folder, else a ``SystemExit`` saying what it is and what is expected."""
    if path.is_dir():
        return path
    if not path.exists():
        raise SystemExit(f"{path}: no such folder (SUBMITTED). Fix: pass the folder that holds the class's "
                         f"submissions: {LAYOUTS}.")
    if path.suffix == ".ipynb":
        raise SystemExit(f"{path}: one notebook, not a folder of submissions (SUBMITTED). Fix: pass the folder "
                         f"that holds it, or grade it alone with `pytest autograde --submission {path}`.")
    raise SystemExit(f"{path}: not a folder (SUBMITTED). Fix: pass the folder that holds the class's "
                     f"submissions: {LAYOUTS}.")


def results_folder(out: Path, submissions: Path) -> Path:
    """``--out``: a folder (or one to create) outside the submissions, where results cannot pass
    for a student's folder."""
    if out.exists() and not out.is_dir():
        raise SystemExit(f"--out {out}: a file, not a folder. Fix: name a folder for the results "
                         "(it is created if missing).")
    if out.resolve().is_relative_to(submissions.resolve()):
        raise SystemExit(f"--out {out}: inside the submissions folder {submissions}, where it would be taken "
                         f"for a student. Fix: write the results beside it, e.g. --out {submissions.parent / 'results'}.")
    return out
