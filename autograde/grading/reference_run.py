"""The grader's own run of a source notebook: what the instructor's answers produce, cached on disk.

``source_values(notebook, target, needs, key)`` executes the source (solution) notebook's code
cells top to bottom in a grading kernel, in a fresh folder beside the trusted support files,
with the environment grading kernels get (the same data, budgets and notebook seed), then runs
probe ``target`` on the notebook's ``needs`` and returns its arrays. Judges use it for
thresholds relative to a reference run (for example an accuracy on the grader's data). Results
are cached under ``GD_GRADING_CACHE`` (default ``~/.cache/gd-applications``), keyed by ``key``
(what the caller's data is), the source notebook, the probe and the kernel's settings.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import threading
from pathlib import Path

import nbformat
import numpy as np

from autograde import limits, settings
from autograde.assignment import solution
from autograde.assignment.notebook import check_id
from autograde.assignment.probe import Kernel
from autograde.assignment.registry import SOURCES
from autograde.assignment.returned import Value
from autograde.kernel.contract import KERNEL_ENV, kernel_env


def _cache_key(notebook: str, target: str, needs: tuple[str, ...], key: str) -> str:
    settings = {k: v for k, v in sorted(kernel_env(dict(os.environ)).items())
                if k.startswith("GD_") or k in KERNEL_ENV}
    text = json.dumps([notebook, target, list(needs), key, settings,
                       hashlib.sha256(SOURCES[notebook].read_bytes()).hexdigest()])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def source_values(notebook: str, target: str, needs: tuple[str, ...], key: str, expect: dict[str, Value],
                  timeout: int = limits.NOTEBOOK_TIMEOUT) -> dict[str, np.ndarray]:
    """Probe ``target`` on ``needs`` after running the source notebook (cached; see the module); its
    values as ``expect`` declares them (``autograde.assignment.returned.Value``)."""
    path = settings.current().cache_folder / f"{notebook}-{_cache_key(notebook, target, needs, key)}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    values = _run(notebook, target, needs, expect, timeout)
    buffer = io.BytesIO()
    np.savez(buffer, **values)
    _write_atomically(path, buffer.getvalue())
    return values


def solution_seconds(notebook: str) -> float:
    """Seconds the source notebook's code cells take in a grading kernel on this machine, its
    kernel's start not counted (cached like the values; every reference run records it)."""
    path = _seconds_file(notebook)
    if not path.is_file():
        _run(notebook, None, (), {}, limits.NOTEBOOK_TIMEOUT)
    return float(json.loads(path.read_text(encoding="utf-8"))["seconds"])


def _seconds_file(notebook: str) -> Path:
    return settings.current().cache_folder / f"{notebook}-seconds-{_cache_key(notebook, 'seconds', (), '')}.json"


def _run(notebook: str, target: str | None, needs: tuple[str, ...], expect: dict[str, Value],
         timeout: int) -> dict[str, np.ndarray]:
    import time

    from nbclient import NotebookClient

    from autograde.assignment.support import copy_support_files
    from autograde.kernel.manager import GradingKernelManager

    source = nbformat.read(SOURCES[notebook], as_version=4)
    cells = [nbformat.v4.new_code_cell(c.source) for c in source.cells
             if c.cell_type == "code" and check_id(c) is None]
    nb = nbformat.v4.new_notebook(cells=cells)
    with tempfile.TemporaryDirectory(prefix="gdref-") as work:
        copy_support_files(Path(work))
        client = NotebookClient(nb, kernel_manager_class=GradingKernelManager, timeout=timeout,
                                shutdown_kernel="immediate", resources={"metadata": {"path": work}})
        with client.setup_kernel():
            started = time.monotonic()
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            _write_atomically(_seconds_file(notebook),
                              json.dumps({"seconds": round(time.monotonic() - started, 2)}).encode())
            if target is None:
                return {}
            probe = nbformat.v4.new_code_cell("")

            def run_code(code: str) -> list:
                probe.source = code
                client.execute_cell(probe, len(nb.cells) - 1, store_history=False)
                return probe.outputs

            return Kernel(run_code, client.km.scratch, timeout, owner=client.km.user.uid).call(target, needs, expect)


def _write_atomically(path: Path, data: bytes) -> None:
    """Graders running at once never read half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


solution.provide(source_values)
