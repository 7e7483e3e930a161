"""The grading kernel of both front ends: its folder, memory limit and view of the course.

Each test starts one kernel (no TensorFlow) and runs one cell that reports what it sees.
"""

from __future__ import annotations

import json
import os

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

from autograde import kernel_manager
from autograde.kernel_manager import ROOT, GradingKernelManager
from autograde.sandbox import probe

LOOK = """
import json, os, resource
print(json.dumps({
    "cwd": os.getcwd(),
    "home": os.environ["HOME"],
    "memory": resource.getrlimit(resource.RLIMIT_AS)[0],
    "files": sorted(os.listdir(".")),
    "solutions": sorted(os.listdir(os.environ["GD_SOURCE"])) if os.path.isdir(os.environ["GD_SOURCE"]) else None,
    "hidden": sorted(os.listdir(os.environ["GD_HIDDEN"])) if os.path.isdir(os.environ["GD_HIDDEN"]) else None,
}))
"""


def look(work, hide=(), memory_mb=2048) -> tuple[dict, GradingKernelManager]:
    """What a cell sees in a grading kernel working in ``work``; and the kernel manager used."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LOOK)])
    config = Config()
    config.GradingKernelManager.memory_mb = memory_mb
    config.GradingKernelManager.hide = [str(p) for p in hide]
    client = NotebookClient(nb, config=config, kernel_manager_class=GradingKernelManager, timeout=60,
                            kernel_name="python3", resources={"metadata": {"path": str(work)}})
    env = {**os.environ, "GD_SOURCE": str(ROOT / "source"), "GD_HIDDEN": str(hide[0]) if hide else "/nonexistent"}
    seen = {}

    def keep(**kwargs):
        seen["km"] = client.km
    client.on_cell_start = keep
    client.execute(env=env)
    out = nb.cells[0].outputs
    assert out and out[0].get("name") == "stdout", out
    return json.loads(out[0]["text"]), seen["km"]


def require_bubblewrap():
    if not probe()[0] and os.environ.get("GD_REQUIRE_SANDBOX") != "1":
        pytest.skip(f"needs bubblewrap: {probe()[1]}")


def test_sandboxed_kernel_works_in_its_folder_under_the_memory_limit_and_sees_no_solutions(tmp_path):
    require_bubblewrap()
    secret = tmp_path / "other-students"
    secret.mkdir()
    (secret / "bob.ipynb").write_text("{}", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    (work / "given.txt").write_text("support file", encoding="utf-8")
    (work / "link.txt").symlink_to(secret / "bob.ipynb")
    seen, km = look(work, hide=[secret])
    assert seen["cwd"] == str(km.scratch / "work"), "the kernel works in a private copy of its folder"
    assert seen["files"] == ["given.txt"], "regular files are copied, links are not"
    assert seen["memory"] == 2048 * 2**20
    assert seen["solutions"] in (None, [])  # the repository is hidden: no source/ inside
    assert seen["hidden"] == []  # the other students' folder is empty inside
    assert km.transport == "ipc"
    assert not seen["home"].startswith(str(work)), "caches must not land in the student's folder"
    assert not km.scratch.exists(), "the kernel's scratch folder is removed after the run"
    assert sorted(p.name for p in work.iterdir()) == ["given.txt", "link.txt"], "the kernel wrote nothing here"


def test_without_bubblewrap_grading_is_refused_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(kernel_manager, "probe", lambda: (False, "bwrap not found (test)"))
    monkeypatch.delenv("GD_GRADING_ALLOW_UNSANDBOXED", raising=False)
    with pytest.raises(kernel_manager.SandboxUnavailable, match="install bubblewrap.*GD_GRADING_ALLOW_UNSANDBOXED=1"):
        look(tmp_path)


def test_without_bubblewrap_and_allowed_explicitly_the_kernel_runs_under_the_memory_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(kernel_manager, "probe", lambda: (False, "bwrap not found (test)"))
    monkeypatch.setenv("GD_GRADING_ALLOW_UNSANDBOXED", "1")
    seen, km = look(tmp_path)
    assert seen["cwd"] == str(km.scratch / "work")  # a private copy, as with the sandbox
    assert seen["memory"] == 2048 * 2**20
    assert km.sandbox is None and km.transport == "tcp"
    assert seen["solutions"] is not None and seen["solutions"] != []  # no isolation: visible


PEEK = """
import importlib, json, os, sys
tried = {}
for name in ("autograde.registry", "autograde.judge", "autograde.exercises.linear_system.reference",
             "autograde.exercises.linear_system.checks"):
    try:
        module = importlib.import_module(name)
        tried[name] = "imported: " + ", ".join(sorted(vars(module))[:5])
    except Exception as exc:
        tried[name] = type(exc).__name__
files = {}
for path in json.loads(os.environ["GD_PEEK"]):
    try:
        files[path] = open(path, encoding="utf-8").read()[:80]
    except OSError as exc:
        files[path] = type(exc).__name__
print(json.dumps({"imports": tried, "files": files,
                  "env": sorted(k for k in os.environ if k.startswith("GD_GRADING"))}))
"""


def test_no_grader_code_reference_or_grading_seed_is_readable_inside_a_grading_kernel(tmp_path, monkeypatch):
    require_bubblewrap()
    package = ROOT / "autograde"
    secrets = [package / "judge.py", package / "registry.py", package / "exercises" / "linear_system" / "reference.py",
               package / "exercises" / "linear_system" / "checks.py", ROOT / "source" / "gd_applications" /
               "01_linear_system.ipynb", ROOT / "nbgrader_config.py"]
    monkeypatch.setenv("GD_GRADING_SEED", "7")
    monkeypatch.setenv("GD_PEEK", json.dumps([str(p) for p in secrets]))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PEEK)])
    work = tmp_path / "work"
    work.mkdir()
    client = NotebookClient(nb, kernel_manager_class=GradingKernelManager, timeout=60,
                            resources={"metadata": {"path": str(work)}})
    client.execute()
    out = nb.cells[0].outputs
    assert out and out[0].get("name") == "stdout", out
    seen = json.loads(out[0]["text"])
    assert set(seen["imports"].values()) == {"ModuleNotFoundError"}, seen["imports"]
    assert all(v in ("FileNotFoundError", "PermissionError") for v in seen["files"].values()), seen["files"]
    assert seen["env"] == [], "the grading seed reached the kernel"
