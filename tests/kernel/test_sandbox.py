"""The bubblewrap sandbox: what a wrapped command can see, write and reach (fast; no notebooks).

Tests that need bwrap are marked ``sandbox``: they skip when ``probe()`` fails, unless
GD_REQUIRE_SANDBOX=1 (CI), where they fail with the probe's reason (tests/requirements.py).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograde.kernel import sandbox
from autograde.kernel.contract import python_paths
from autograde.kernel.sandbox import Sandbox, describe, probe, wrap

ROOT = Path(__file__).resolve().parents[2]

#: The running interpreter's environment: a clone under /tmp (hidden by the sandbox's tmpfs)
#: must still be able to run sys.executable inside.
PYTHON = tuple(python_paths())

# Helpers for the scripts run inside: each prints one JSON object.
PRELUDE = """
import errno, json, os, sys

def try_write(path):
    try:
        with open(path, "w") as f:
            f.write("x")
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    return "ok"

def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))

def listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
"""


def run_in(box: Sandbox, script: str, *args: str, python: str = sys.executable) -> dict:
    """Run PRELUDE + script with ``python`` inside ``box``; return the JSON it printed."""
    proc = subprocess.run(wrap(box, [python, "-c", PRELUDE + script, *args]),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def course(tmp_path) -> Path:
    """A fake course: a gradebook, another student's notebook, shared data, our work folder."""
    root = tmp_path / "course"
    (root / "submitted" / "other_student" / "ps1").mkdir(parents=True)
    (root / "submitted" / "other_student" / "ps1" / "answers.ipynb").write_text("{}")
    (root / "submitted" / "shared").mkdir()
    (root / "submitted" / "shared" / "data.txt").write_text("digits")
    (root / "submitted" / "me" / "ps1").mkdir(parents=True)
    (root / "gradebook.db").write_text("secret grades")
    (root / "README.md").write_text("course readme")
    return root


@pytest.mark.sandbox
def test_work_is_writable_cwd_and_home(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    out = run_in(Sandbox(work, readonly=PYTHON), """
print(json.dumps({"cwd": os.getcwd(), "home": os.environ["HOME"],
                  "expanduser": os.path.expanduser("~"), "write": try_write("out.txt")}))
""")
    assert out == {"cwd": str(work), "home": str(work), "expanduser": str(work), "write": "ok"}
    assert (work / "out.txt").read_text() == "x"


@pytest.mark.sandbox
def test_writing_outside_work_fails(tmp_path):
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    in_repo = ROOT / "sandbox-escape.txt"
    try:
        out = run_in(Sandbox(work, readonly=PYTHON), """
outside, repo_file = sys.argv[1], sys.argv[2]
print(json.dumps({"outside": try_write(os.path.join(outside, "x")),
                  "outside_listing": listdir(outside),
                  "tmp_path": try_write(os.path.join(os.path.dirname(outside), "x")),
                  "repo": try_write(repo_file),
                  "usr": try_write("/usr/x")}))
""", str(outside), str(in_repo))
        assert not in_repo.exists()
    finally:
        in_repo.unlink(missing_ok=True)
    # /tmp is a fresh tmpfs: the other tmp folder is not there at all ...
    assert out["outside"] == "ENOENT" and out["outside_listing"] == "ENOENT"
    # ... and a write that lands in that tmpfs never reaches the real folder
    assert not (tmp_path / "x").exists() and sorted(os.listdir(outside)) == ["secret.txt"]
    # the repository is not there at all (only system folders are shown; where a shown folder
    # such as the venv lies inside it, only the empty, read-only way to it); a clone under /tmp sits
    # in the sandbox's own /tmp, where a write is lost (the host file is checked above)
    repo_under_tmp = ROOT.resolve().is_relative_to("/tmp")
    assert out["repo"] in ("ENOENT", "EROFS") or (repo_under_tmp and out["repo"] == "ok"), out["repo"]
    assert out["usr"] == "EROFS"


@pytest.mark.sandbox
def test_hidden_paths_are_invisible(course):
    work = course / "submitted" / "me" / "ps1"
    box = Sandbox(work, readonly=(course, *PYTHON),
                  hide=(course / "gradebook.db", course / "submitted" / "other_student",
                        course / "no-such-thing"))
    out = run_in(box, """
root = sys.argv[1]
print(json.dumps({"readme": read(os.path.join(root, "README.md")),
                  "gradebook": read(os.path.join(root, "gradebook.db")),
                  "other": listdir(os.path.join(root, "submitted", "other_student")),
                  "work": try_write("mine.txt")}))
""", str(course))
    assert out == {"readme": "course readme", "gradebook": "", "other": [], "work": "ok"}
    assert (course / "gradebook.db").read_text() == "secret grades"


@pytest.mark.sandbox
def test_readonly_inside_hidden_folder_is_readable_not_writable(course, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    shared = course / "submitted" / "shared"
    # readonly listed first on purpose: wrap() must still mount it after the hide mask
    box = Sandbox(work, readonly=(shared, course, *PYTHON), hide=(course / "submitted",))
    out = run_in(box, """
submitted = os.path.dirname(sys.argv[1])
print(json.dumps({"listing": listdir(submitted),
                  "data": read(os.path.join(sys.argv[1], "data.txt")),
                  "write": try_write(os.path.join(sys.argv[1], "new.txt"))}))
""", str(shared))
    assert out == {"listing": ["shared"], "data": "digits", "write": "EROFS"}


@pytest.mark.sandbox
def test_readonly_venv_under_tmp_runs(tmp_path):
    venv, work = tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = str(venv / "bin" / "python")
    out = run_in(Sandbox(work, readonly=(venv, *PYTHON)), 'print(json.dumps({"prefix": sys.prefix}))',
                 python=python)
    assert out == {"prefix": str(venv)}


@pytest.mark.sandbox
def test_masks_cannot_be_removed(course, tmp_path):
    """Even as root, the command has no capabilities: it cannot unmount a mask or remount `/`."""
    work = tmp_path / "work"
    work.mkdir()
    box = Sandbox(work, readonly=(course, *PYTHON), hide=(course / "submitted",))
    out = run_in(box, """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
submitted = sys.argv[1]
umount = libc.umount2(submitted.encode(), 0)
umount_errno = ctypes.get_errno()
remount = libc.mount(b"none", b"/", None, 0x20 | 0x1000, None)  # MS_REMOUNT | MS_BIND, rw
caps = [line.split()[1] for line in open("/proc/self/status") if line.startswith("CapEff")][0]
print(json.dumps({"umount": [umount, errno.errorcode.get(umount_errno)], "remount": remount,
                  "listing": listdir(submitted), "caps": caps}))
""", str(course / "submitted"))
    assert out == {"umount": [-1, "EPERM"], "remount": -1, "listing": [], "caps": "0" * 16}


@pytest.mark.sandbox
def test_no_network_but_loopback(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    out = run_in(Sandbox(work, readonly=PYTHON), """
import socket, time
start = time.monotonic()
try:
    socket.create_connection(("1.1.1.1", 53), timeout=5).close()
    outside = "connected"
except OSError as exc:
    outside = type(exc).__name__
try:
    socket.getaddrinfo("example.com", 443)
    dns = "resolved"
except OSError as exc:
    dns = type(exc).__name__
seconds = time.monotonic() - start
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
client = socket.create_connection(srv.getsockname(), timeout=5)
conn, _ = srv.accept()
client.sendall(b"ping")
print(json.dumps({"outside": outside, "dns": dns, "fast": seconds < 2,
                  "loopback": conn.recv(4).decode()}))
""")
    assert out["outside"] != "connected" and out["dns"] != "resolved"
    assert out == {**out, "fast": True, "loopback": "ping"}


@pytest.mark.sandbox
def test_unix_socket_in_work_reaches_the_outside(tmp_path):
    """Jupyter's IPC transport: the kernel binds unix sockets in a folder its client can reach."""
    work = tmp_path / "work"
    work.mkdir()
    path = work / "kernel.sock"
    script = """
import socket, sys
srv = socket.socket(socket.AF_UNIX)
srv.bind(sys.argv[1])
srv.listen()
print("ready", flush=True)
conn, _ = srv.accept()
conn.sendall(conn.recv(4)[::-1])
"""
    proc = subprocess.Popen(wrap(Sandbox(work, readonly=PYTHON), [sys.executable, "-c", script, str(path)]),
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(10)
            client.connect(str(path))
            client.sendall(b"ping")
            assert client.recv(4) == b"gnip"
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.sandbox
def test_command_dies_with_its_parent(tmp_path):
    """Kill the process that started bwrap: the wrapped command goes too (its pipe end closes)."""
    work = tmp_path / "work"
    work.mkdir()
    r, w = os.pipe()
    inner = wrap(Sandbox(work, readonly=PYTHON), [sys.executable, "-c",
                                 "import os, sys, time; os.write(int(sys.argv[1]), b'x'); time.sleep(60)",
                                 str(w)])
    starter = "import subprocess, sys, time; subprocess.Popen(sys.argv[2:], pass_fds=(int(sys.argv[1]),)); time.sleep(60)"
    parent = subprocess.Popen([sys.executable, "-c", starter, str(w), *inner], pass_fds=(w,))
    os.close(w)
    try:
        assert select.select([r], [], [], 30)[0] and os.read(r, 1) == b"x"
        parent.kill()
        parent.wait()
        # EOF once every holder of the write end (bwrap and the command) is gone
        assert select.select([r], [], [], 10)[0] and os.read(r, 1) == b""
    finally:
        parent.kill()
        parent.wait()
        os.close(r)


@pytest.mark.sandbox
def test_describe_names_bubblewrap():
    line = describe()
    assert line.startswith("isolation: bubblewrap ") and "NONE" not in line


@pytest.fixture
def fresh_probe():
    probe.cache_clear()
    yield
    probe.cache_clear()


def test_without_bwrap_probe_fails_and_describe_says_none(monkeypatch, fresh_probe, tmp_path):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda cmd, *a, **k: None if cmd == "bwrap" else real_which(cmd, *a, **k))
    start = time.perf_counter()
    ok, reason = probe()
    assert not ok and "bwrap" in reason
    assert time.perf_counter() - start < 1
    assert describe() == f"isolation: NONE — {reason}; grading runs with time and memory limits only"
    with pytest.raises(RuntimeError, match="bwrap"):
        wrap(Sandbox(tmp_path), ["true"])
    assert sandbox.probe() == (ok, reason)  # cached


@pytest.mark.sandbox
def test_only_system_folders_are_shown_and_no_host_unix_socket_is_reachable(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    # a host service listening on a unix socket outside /tmp, as dbus or a database would
    host_socket = Path("/var/tmp") / f"gd-sandbox-test-{os.getpid()}.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(host_socket))
    listener.listen(1)
    sockets = [str(host_socket)] + [p for p in ("/run/dbus/system_bus_socket",) if os.path.exists(p)]
    try:
        out = run_in(Sandbox(work, readonly=PYTHON), """
import socket
reached = []
for path in sys.argv[1:]:
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
            reached.append(path)
    except OSError:
        pass
print(json.dumps({"root": sorted(os.listdir("/")), "home": listdir("/root"), "reached": reached,
                  "shadow": read("/etc/shadow")}))
""", *sockets)
    finally:
        listener.close()
        host_socket.unlink(missing_ok=True)
    assert out["reached"] == []
    assert out["shadow"] in ("", "ENOENT", "EACCES")
    shown = {Path(p).parts[1] for p in (*sandbox.SYSTEM_FOLDERS, *map(str, PYTHON), str(work), "/dev", "/proc", "/tmp")}
    assert set(out["root"]) <= shown, f"host folders visible inside: {set(out['root']) - shown}"
    python_in_home = [p for p in PYTHON if p.is_relative_to("/root")]
    assert out["home"] == "ENOENT" or [Path("/root", n) for n in out["home"]] == [
        Path(*p.parts[:3]) for p in python_in_home[:1]], out["home"]
