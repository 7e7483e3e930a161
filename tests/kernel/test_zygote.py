"""Kernels forked from a zygote (autograde.kernel.forked.zygote): what a student's code sees and may do in one is
what it sees and may do in a kernel started cold, and kernels of one submission share no folder.

Needs root (kernels get users of their own) and bubblewrap; each test starts one zygote (about 5 s).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

from autograde import limits
from autograde.assignment.registry import ROOT, data_paths
from autograde.kernel import user as kernel_user
from autograde.kernel.forked import zygote
from autograde.kernel.manager import GradingKernelManager

pytestmark = [pytest.mark.root(reason="kernels are forked only for a root grader"), pytest.mark.sandbox]

#: Everything a student's code could use to tell its kernel from another kind, normalised where
#: the kernel's own scratch folder appears (``SCRATCH``, given to the cell).
CENSUS = r"""
import json, os, resource, socket, sys
scratch = os.environ.pop("GD_TEST_SCRATCH")
os.environ.pop("GD_TEST_HIDDEN", None)
def norm(value):
    return json.loads(json.dumps(value).replace(scratch, "<scratch>"))
def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return type(exc).__name__
st = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
tmp_top = scratch.split("/")[2] if scratch.startswith("/tmp/") else None
print(json.dumps(norm({
    "cwd": os.getcwd(), "env": dict(os.environ), "argv": sys.argv, "path": sys.path,
    "limits": [resource.getrlimit(r) for r in (resource.RLIMIT_AS, resource.RLIMIT_FSIZE, resource.RLIMIT_NPROC)],
    "ids": [os.getuid() == os.getgid(), os.getuid() != 0, os.getgroups()],
    "caps": [st[k] for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")], "no_new_privs": st["NoNewPrivs"],
    "umask": os.umask(0o22), "names": sorted(k for k in globals() if not k.startswith("_")),
    "root": listing("/"), "tmp": [n for n in listing("/tmp") if n != tmp_top], "shm": listing("/dev/shm"),
    "repository": listing(os.environ["GD_SOURCE"]), "hidden": listing(os.environ["GD_SECRET"]),
    "files": listing("."), "home": listing(os.environ["HOME"]), "net": [n for _, n in socket.if_nameindex()],
    "stdio": [os.readlink(f"/proc/self/fd/{fd}").split(":")[0] for fd in (0, 1, 2)],
    "writable_root": os.access("/", os.W_OK), "session": [os.getsid(0), os.getpgid(0)], "mpl": __import__("matplotlib").get_backend(),
})))
"""


def run(work, cells: list[str], config: Config, env: dict | None = None) -> tuple[list[str], GradingKernelManager]:
    """Each cell's stdout, run in one grading kernel on ``work``; and its kernel manager."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(nb, config=config, kernel_manager_class=GradingKernelManager, timeout=120,
                            kernel_name="python3", resources={"metadata": {"path": str(work)}})
    seen = {}
    client.on_cell_start = lambda **kw: seen.setdefault("km", client.km)
    client.execute(env={**os.environ, **(env or {})})
    outs = ["".join(o.get("text", "") for o in c.outputs if o.get("name") == "stdout") for c in nb.cells]
    return outs, seen["km"]


def settings(hide, z=None) -> Config:
    config = Config()
    config.GradingKernelManager.memory_mb = 3072
    config.GradingKernelManager.hide = [str(p) for p in hide]
    config.GradingKernelManager.zygote = z
    return config


@pytest.fixture
def secret(tmp_path):
    """A folder the kernels must not see (another student's work), and a folder to grade."""
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "bob.ipynb").write_text("{}", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    (work / "given.txt").write_text("support file", encoding="utf-8")
    return tmp_path / "class", work


def test_a_forked_kernel_sees_and_may_do_exactly_what_a_cold_kernel_does(secret):
    hidden, work = secret
    env = {"GD_SOURCE": str(ROOT / "source"), "GD_SECRET": str(hidden)}
    first = "import os\nos.environ['GD_TEST_SCRATCH'] = os.path.dirname(os.getcwd())"
    cold_out, cold_km = run(work, [first, CENSUS], settings([hidden]), env)
    with zygote.Zygote(hide=[hidden]) as z:
        forked_out, forked_km = run(work, [first, CENSUS], settings([hidden], z), env)
    assert not cold_km.forked and forked_km.forked, "the zygote was not used"
    cold, forked = json.loads(cold_out[1]), json.loads(forked_out[1])
    for key in cold:
        if key == "env":
            assert {k: v for k, v in forked[key].items() if cold[key].get(k) != v} == {}, "more or other variables"
            assert {k: v for k, v in cold[key].items() if forked[key].get(k) != v} == {}, "fewer or other variables"
        assert forked[key] == cold[key], key
    # and what they both see is what a grading kernel must
    assert cold["caps"] == ["0000000000000000"] * 5 and cold["no_new_privs"] == "1"
    assert cold["ids"] == [True, True, []] and cold["limits"][2][0] == limits.PROCESSES
    assert cold["hidden"] == [] and cold["repository"] in ("FileNotFoundError", [])
    assert cold["files"] == ["given.txt"] and cold["net"] == ["lo"] and not cold["writable_root"]
    # in /tmp: only the way to what the sandbox mounts there (the mask over ``hidden``, a repository
    # or Python installation under /tmp)
    mounted = [hidden, ROOT, Path(sys.prefix), Path(sys.base_prefix), *data_paths()]
    leading = {p.parts[2] for p in mounted if len(p.parts) > 2 and p.parts[1] == "tmp"}
    assert set(cold["tmp"]) <= leading and cold["shm"] == []


FIRST = r"""
import json, os, numpy as np, random
for folder in ("/tmp", "/dev/shm"):
    with open(f"{folder}/first", "w") as f:
        f.write("mine")
print(json.dumps({"pid": os.getpid(), "scratch": os.path.dirname(os.getcwd()), "uid": os.getuid(),
                  "numpy": float(np.random.rand()), "random": random.random()}))
"""
SECOND = r"""
import json, os, numpy as np, random
first = json.loads(os.environ["GD_FIRST"])
def tried(fn):
    try:
        fn()
        return "allowed"
    except OSError as exc:
        return type(exc).__name__
print(json.dumps({
    "tmp": sorted(os.listdir("/tmp")), "shm": sorted(os.listdir("/dev/shm")), "uid": os.getuid(),
    "first_scratch": tried(lambda: os.listdir(first["scratch"])),
    "signal_first": tried(lambda: os.kill(first["pid"], 0)),
    "signal_zygote": tried(lambda: os.kill(os.getppid(), 0)),
    "numpy": float(np.random.rand()), "random": random.random(),
}))
"""


def test_two_kernels_of_one_zygote_share_no_folder_no_signal_and_no_random_state(secret):
    hidden, work = secret
    with zygote.Zygote(hide=[hidden]) as z:
        client = NotebookClient(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FIRST)]),
                                config=settings([hidden], z), kernel_manager_class=GradingKernelManager,
                                timeout=120, kernel_name="python3", resources={"metadata": {"path": str(work)}})
        with client.setup_kernel():  # the first kernel lives while the second one looks around
            first = json.loads(client.execute_cell(client.nb.cells[0], 0).outputs[0]["text"])
            assert client.km.forked
            out, km = run(work, [SECOND], settings([hidden], z), {"GD_FIRST": json.dumps(first)})
    assert km.forked
    second = json.loads(out[0])
    assert second["uid"] != first["uid"], "each kernel runs as a user of its own"
    assert "first" not in second["tmp"] and "first" not in second["shm"], "/tmp and /dev/shm are each kernel's own"
    assert second["first_scratch"] == "FileNotFoundError", "the other kernel's folders are not even visible"
    assert second["signal_first"] == "PermissionError" and second["signal_zygote"] == "PermissionError"
    assert (second["numpy"], second["random"]) != (first["numpy"], first["random"]), \
        "each kernel draws fresh random states"
    assert second["numpy"] != first["numpy"], "NumPy's global state is drawn afresh in each kernel"


def test_a_zygote_that_does_not_hide_what_a_kernel_must_not_see_is_not_used(secret):
    hidden, work = secret
    with zygote.Zygote(hide=[]) as z:
        out, km = run(work, ["print(open('given.txt').read())"], settings([hidden], z))
    assert not km.forked, "a kernel was forked from a zygote that shows the other students' work"
    assert out == ["support file\n"]


def test_when_the_zygote_cannot_fork_the_kernel_starts_cold_and_runs(secret, monkeypatch):
    hidden, work = secret

    def refuse(self, request):
        raise RuntimeError("no fork (test)")
    monkeypatch.setattr(zygote.Zygote, "spawn", refuse)
    with zygote.Zygote(hide=[hidden]) as z:
        out, km = run(work, ["import os\nprint(os.getpid(), open('given.txt').read())"], settings([hidden], z))
    assert not km.forked
    assert out[0].split(maxsplit=1) == ["2", "support file\n"], "a cold kernel: alone in a sandbox of its own"


ESCAPE = r"""
import os, subprocess
child = subprocess.Popen(["sleep", "600"], start_new_session=True)
print(os.getuid(), child.pid)
"""


def test_nothing_a_forked_kernel_started_outlives_its_notebook(secret):
    hidden, work = secret
    with zygote.Zygote(hide=[hidden]) as z:
        out, km = run(work, [ESCAPE], settings([hidden], z))
        assert km.forked
        uid = int(out[0].split()[0])
        assert kernel_user.user_tasks(uid) == 0, "a process of the kernel's user outlived its notebook"
