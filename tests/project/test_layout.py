"""The engine names no exercise, every exercise has its own folder, and shipped code never imports tests/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from autograde import exercises
from autograde.assignment.registry import CHECKS, NOTEBOOKS

ROOT = Path(__file__).resolve().parents[2]
ENGINE = sorted((ROOT / "autograde").glob("*.py"))


def test_the_engine_names_no_exercise_notebook_or_check():
    names = {*NOTEBOOKS, *(c.grade_id for c in CHECKS),
             *(m.rsplit(".", 1)[-1] for m in exercises.EXERCISES), "mnist", "logistic", "logreg"}
    found = {}
    for path in ENGINE:
        text = path.read_text(encoding="utf-8").lower()
        hits = sorted(n for n in names if re.search(rf"\b{re.escape(n.lower())}", text))
        if hits:
            found[path.name] = hits
    assert found == {}, f"engine modules that name an exercise: {found}"


def test_each_exercise_is_one_folder_with_checks_reference_and_examples():
    for module in exercises.EXERCISES:
        folder = ROOT / Path(*module.split("."))
        assert {"__init__.py", "checks.py", "reference.py", "examples.py"} <= {p.name for p in folder.iterdir()}


def test_shipped_code_never_imports_tests():
    for path in [*(ROOT / "autograde").rglob("*.py"), *(ROOT / "source").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.split(".")[0] == "tests", path
            elif isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] != "tests" for a in node.names), path
