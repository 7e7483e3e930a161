"""Kernels started ahead (autograde.kernel.pool): used only where they match, and a notebook run in
one sees what a kernel started for it would have seen (its own folder, a user of its own)."""

from __future__ import annotations

import json
import os

import nbformat
import pytest
from traitlets.config import Config

from autograde.grading.runner import GradingClient
from autograde.kernel import pool as kernel_pool

pytestmark = pytest.mark.sandbox

LOOK = """
import json, os, sys
print(json.dumps({"files": sorted(os.listdir(".")), "uid": os.getuid(), "cwd": os.getcwd(),
                  "warm": "tensorflow" in sys.modules}))
"""


def run(work, config: Config) -> tuple[dict, object]:
    """What a cell sees in a grading session on ``work`` with ``config``; and its kernel manager."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LOOK)])
    client = GradingClient(config=config, timeout=120, allow_errors=True)
    seen = {}
    client.on_cell_start = lambda **kw: seen.setdefault("km", client.km)
    client.preprocess(nb, {"metadata": {"path": str(work)}})
    out = nb.cells[0].outputs
    assert out and out[0].get("name") == "stdout", out
    return json.loads(out[0]["text"]), seen["km"]


def folder(tmp_path, name: str, file: str):
    work = tmp_path / name
    work.mkdir()
    (work / file).write_text(name, encoding="utf-8")
    return work


def test_a_spare_kernel_serves_the_next_notebook_in_its_own_folder_as_its_own_user(tmp_path):
    config = Config()
    config.GradingClient.spare_kernels = True
    config.GradingKernelManager.hide = [str(tmp_path / "class")]
    try:
        first, km1 = run(folder(tmp_path, "alice", "alice.txt"), config)
        kernel_pool.start_spare(config)
        second, km2 = run(folder(tmp_path, "bob", "bob.txt"), config)
    finally:
        kernel_pool.stop_all()
    assert km1.adopted is None and km2.adopted == str((tmp_path / "bob").resolve()), "the spare was not used"
    assert first["warm"] is False and second["warm"] is True, "the spare imported TensorFlow ahead"
    assert first["files"] == ["alice.txt"] and second["files"] == ["bob.txt"]
    assert second["cwd"] == str(km2.scratch / "work"), "it works in a private copy, as any grading kernel"
    if os.geteuid() == 0:
        assert first["uid"] != second["uid"], "each kernel runs as a user of its own"
    assert not (tmp_path / "bob" / "gdkit").exists() and sorted(p.name for p in (tmp_path / "bob").iterdir()) == [
        "bob.txt"], "the kernel wrote nothing into the folder it was given"


def test_a_spare_started_with_other_settings_is_not_used(tmp_path):
    started = Config()
    started.GradingKernelManager.hide = [str(tmp_path / "one-class")]
    other = Config()
    other.GradingClient.spare_kernels = True
    other.GradingKernelManager.hide = [str(tmp_path / "another-class")]
    try:
        kernel_pool.start_spare(started)
        _, km = run(folder(tmp_path, "carol", "carol.txt"), other)
        assert km.adopted is None, "a kernel hiding other folders served this notebook"
        spare = kernel_pool.take(started)
        assert spare is not None, "the spare stays for settings like its own"
        kernel_pool.stop(spare)
    finally:
        kernel_pool.stop_all()
