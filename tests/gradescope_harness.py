"""The Gradescope bundle, end to end, in a fresh Debian root (containers cannot run here).

    python tests/gradescope_harness.py [--students dave] [--keep ROOT]

Builds ``dist/autograder.zip`` and a wheelhouse of its pinned packages (``dist/wheelhouse``,
kept between runs), makes a fresh Debian bookworm root with ``mmdebstrap``, lays out
``/autograder`` as Gradescope does and enters it with ``bwrap``. ``setup.sh`` runs in a clean
environment (``env -i``; pip reads only the wheelhouse: the pinned list must be complete), then
``run_autograder`` grades, with nothing but the container to isolate them as on Gradescope
(bubblewrap made unusable inside, unless noted): the solution notebooks (every point), the
released stubs (0), example students (points from ``autograde/exercises/*/examples.py``; one
notebook in a subfolder), and an upload whose kernel writes ``results.json`` itself. Every
``results.json`` is validated against ``tests/schemas/gradescope_results.schema.json``.
Prints the times and the peak memory (resident, of the whole process tree and of each kernel).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from autograde.assignment.registry import ASSIGNMENT, CHECKS, NOTEBOOKS  # noqa: E402
from tests.examples import class_files, class_points  # noqa: E402

SCHEMA = ROOT / "tests" / "schemas" / "gradescope_results.schema.json"
WHEELHOUSE = ROOT / "dist" / "wheelhouse"
#: pip reads only the wheelhouse. Debian 12's Python is 3.11.2 and one pinned package (soupsieve)
#: declares Python >= 3.11.5: the harness tells pip to ignore that declaration (Gradescope's
#: Ubuntu 24.04 image has Python 3.12, where it holds).
SETUP_ENV = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/wheelhouse", "PIP_IGNORE_REQUIRES_PYTHON": "1"}
PLANTED = "planted by the student's kernel"
HOSTILE_CELL = f"""import json, os
os.makedirs('/autograder/results', exist_ok=True)
with open('/autograder/results/results.json', 'w') as f:
    json.dump({{'score': 30, 'output': {PLANTED!r}}}, f)
"""


def tools_missing() -> list[str]:
    """The tools this harness needs that are not here (mmdebstrap, bwrap), or that cannot run."""
    missing = [t for t in ("mmdebstrap", "bwrap") if shutil.which(t) is None]
    if not missing:
        probe = subprocess.run(["bwrap", "--bind", "/", "/", "--dev", "/dev", "true"], capture_output=True)
        if probe.returncode != 0:
            missing.append(f"a working bwrap ({probe.stderr.decode().strip()})")
    return missing


@dataclass
class Peaks:
    """Peak resident memory of a process tree, sampled: the whole tree, and each kernel in start order."""

    tree_mb: float = 0.0
    kernels: dict[int, list] = field(default_factory=dict)  # pid -> [start, peak rss MB, peak vms MB]


def sample(proc: subprocess.Popen, peaks: Peaks, stop: threading.Event, every: float = 0.2) -> None:
    while not stop.is_set():
        try:
            tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        total = 0.0
        for p in tree:
            try:
                mem, cmd = p.memory_info(), p.cmdline()
            except (psutil.NoSuchProcess, psutil.AccessDenied):  # gone between listing and reading
                continue
            total += mem.rss / 2**20
            if any(part.endswith("limited.py") for part in cmd) and cmd[0] != "bwrap" \
                    and not cmd[0].endswith("/bwrap"):
                k = peaks.kernels.setdefault(p.pid, [p.create_time(), 0.0, 0.0])
                k[1], k[2] = max(k[1], mem.rss / 2**20), max(k[2], mem.vms / 2**20)
        peaks.tree_mb = max(peaks.tree_mb, total)
        stop.wait(every)


class Root:
    """A fresh Debian root laid out like a Gradescope container."""

    def __init__(self, path: Path, wheelhouse: Path):
        self.path, self.wheelhouse = path, wheelhouse

    def make(self, bundle: Path) -> float:
        t = time.perf_counter()
        subprocess.run(["mmdebstrap", "--quiet", "--variant=minbase", "bookworm", str(self.path)], check=True)
        ag = self.path / "autograder"
        for name in ("source", "submission", "results"):
            (ag / name).mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(bundle) as zf:
            zf.extractall(ag / "source")
        for name in ("setup.sh", "run_autograder"):
            (ag / "source" / name).chmod(0o755)
        shutil.copy2(ag / "source" / "run_autograder", ag / "run_autograder")
        return time.perf_counter() - t

    def run(self, script: str, env: dict[str, str] | None = None, sandbox_usable: bool = True,
            timeout: int = 3600) -> tuple[subprocess.CompletedProcess, float, Peaks]:
        """Run ``script`` as root inside the root with ``env -i`` plus ``env``; (result, seconds, peaks)."""
        binds = ["--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf",
                 "--ro-bind", str(self.wheelhouse), "/wheelhouse"]
        if not sandbox_usable:  # bubblewrap cannot start inside, as in most Docker containers
            binds += ["--ro-bind", "/dev/null", "/usr/bin/bwrap"]
        clean = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
                 *(f"{k}={v}" for k, v in (env or {}).items())]
        cmd = ["bwrap", "--bind", str(self.path), "/", "--dev", "/dev", "--proc", "/proc",
               *binds, "--chdir", "/autograder", "--die-with-parent",
               "/usr/bin/env", "-i", *clean, "/bin/bash", "-c", script]
        peaks, stop = Peaks(), threading.Event()
        t = time.perf_counter()
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
            sampler = threading.Thread(target=sample, args=(proc, peaks, stop), daemon=True)
            sampler.start()
            try:
                proc.wait(timeout=timeout)
            finally:
                if proc.poll() is None:
                    proc.kill()
                stop.set()
                sampler.join()
            out.seek(0)
            log = out.read().decode("utf-8", "replace")
        return subprocess.CompletedProcess(cmd, proc.returncode, log), time.perf_counter() - t, peaks

    def submit(self, files: dict[str, Path | bytes]) -> None:
        """Replace the upload with ``files`` (relative name -> file or content); empty the results."""
        ag = self.path / "autograder"
        for name in ("submission", "results"):
            shutil.rmtree(ag / name, ignore_errors=True)
            (ag / name).mkdir()
        for rel, what in files.items():
            dest = ag / "submission" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(what if isinstance(what, bytes) else what.read_bytes())

    def results(self) -> dict:
        return json.loads((self.path / "autograder" / "results" / "results.json").read_text("utf-8"))


def validate(data: dict) -> None:
    import jsonschema

    jsonschema.validate(data, json.loads(SCHEMA.read_text("utf-8")))


def check_points(data: dict) -> dict[str, float]:
    return {t["name"].split(": ", 1)[1]: t["score"] for t in data["tests"] if ": " in t["name"]}


def hostile_upload() -> bytes:
    """The released first notebook with a cell that writes a full-marks results.json."""
    nb = nbformat.read(ROOT / "release" / ASSIGNMENT / f"{NOTEBOOKS[0]}.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(HOSTILE_CELL))
    return nbformat.writes(nb).encode()


@dataclass
class Case:
    name: str
    files: dict
    expect: dict | None  # grade_id -> points; None: every point
    sandbox_usable: bool = False


def cases(students: list[str]) -> list[Case]:
    full = {c.grade_id: c.points for c in CHECKS}
    out = [Case("solutions", {f"{s}.ipynb": ROOT / "source" / ASSIGNMENT / f"{s}.ipynb" for s in NOTEBOOKS},
                full, sandbox_usable=True),
           Case("stubs", {f"{s}.ipynb": ROOT / "release" / ASSIGNMENT / f"{s}.ipynb" for s in NOTEBOOKS},
                {c.grade_id: 0 for c in CHECKS})]
    for student in students:
        files = {}
        for i, (stem, path) in enumerate(sorted(class_files(student).items())):
            files[f"my work/{stem}.ipynb" if i == 1 else f"{stem}.ipynb"] = path  # one in a subfolder
        out.append(Case(f"example {student}", files, class_points(student)))
    out.append(Case("kernel writes results.json", {f"{NOTEBOOKS[0]}.ipynb": hostile_upload()},
                    {c.grade_id: 0 for c in CHECKS}))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", default="dave", help="example students to grade, comma-separated")
    parser.add_argument("--keep", type=Path, help="build the root here and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    missing = tools_missing()
    if missing:
        print(f"cannot run: missing {', '.join(missing)}. Fix: apt-get install mmdebstrap bubblewrap")
        return 2
    figures, failures = [], []
    t0 = time.perf_counter()
    build = subprocess.run([sys.executable, str(ROOT / "gradescope" / "build.py"), "--wheelhouse", str(WHEELHOUSE)],
                           capture_output=True, text=True)
    if build.returncode != 0:
        print(build.stdout + build.stderr)
        return 1
    figures.append(f"bundle and wheelhouse: {time.perf_counter() - t0:.0f} s")
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="gdgs-root-"))
    root = Root(workdir / "root", WHEELHOUSE)
    try:
        figures.append(f"fresh Debian root: {root.make(ROOT / 'dist' / 'autograder.zip'):.0f} s")
        setup, seconds, peaks = root.run("/autograder/source/setup.sh", SETUP_ENV)
        figures.append(f"setup.sh: {seconds:.0f} s (exit {setup.returncode}), peak memory {peaks.tree_mb:.0f} MB")
        if setup.returncode != 0:
            print(setup.stdout[-5000:])
            failures.append("setup.sh failed")
        for case in ([] if failures else cases([s for s in args.students.split(",") if s])):
            root.submit(case.files)
            done, seconds, peaks = root.run("/autograder/run_autograder", sandbox_usable=case.sandbox_usable)
            kernels = sorted(peaks.kernels.values())
            per_kernel = ", ".join(f"{rss:.0f} MB (address space {vms:.0f} MB)" for _, rss, vms in kernels)
            isolation = next((line for line in done.stdout.splitlines() if line.startswith("isolation:")), "?")
            figures.append(f"run_autograder, {case.name}: {seconds:.0f} s, peak memory {peaks.tree_mb:.0f} MB; "
                           f"kernels: {per_kernel}; {isolation}")
            try:
                data = root.results()
                validate(data)
                got = check_points(data)
                want = case.expect
                assert got == want, f"points per check {got} != {want}"
                assert data["score"] == sum(want.values()), data["score"]
                assert PLANTED not in json.dumps(data), "the kernel's results.json survived"
                assert done.returncode == 0, f"exit {done.returncode}"
            except Exception as exc:  # noqa: BLE001 - every case is reported, then the run fails
                failures.append(f"{case.name}: {type(exc).__name__}: {exc}")
                print(done.stdout[-4000:])
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    figures.append(f"total: {time.perf_counter() - t0:.0f} s")
    print("\n".join(figures))
    print("\n".join(f"FAILED {f}" for f in failures) or "all results.json valid and as deserved")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
