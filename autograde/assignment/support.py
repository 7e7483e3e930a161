"""The trusted files a notebook runs with besides itself (``gdkit``, data), from the source assignment."""

from __future__ import annotations

import shutil
from pathlib import Path

from autograde.assignment.registry import SOURCE


def copy_support_files(work: Path) -> None:
    """Copy the trusted non-notebook files of the source assignment (gdkit, data) into ``work``."""
    for item in SOURCE.iterdir():
        if item.suffix == ".ipynb" or item.name.startswith(".") or item.name == "__pycache__":
            continue
        dest = work / item.name
        if item.is_dir():
            shutil.copytree(item, dest, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(item, dest)
