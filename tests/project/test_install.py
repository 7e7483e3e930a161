"""Installs resolve on Linux (x86_64, aarch64), macOS (arm64, x86_64) and Windows: one TensorFlow each.

Which TensorFlow has wheels where (``pip install --dry-run --no-deps --only-binary=:all: --platform``,
Python 3.10-3.12): ``tensorflow-cpu`` for Linux x86_64 (2.21) and Windows amd64 (2.21), none for
Linux aarch64 or macOS arm64; ``tensorflow`` for all five (macOS x86_64: 2.16.2 is the last). The
markers choose ``tensorflow-cpu`` where it exists beside ``tensorflow`` (no CUDA libraries) and
``tensorflow`` elsewhere, so macOS has one name on both chips.

The resolving tests ask the package registry (marked ``registry``); without it they skip naming it,
or fail when ``GD_REQUIRE_REGISTRY=1`` (CI; tests/requirements.py). ``-m "not registry"`` leaves
them out. The direct requirements' wheels are checked in the fast tests (15-45 s); whole
resolutions are ``slow`` (1-2.5 minutes).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
STUDENT_REQUIREMENTS = ROOT / "source" / "gd_applications" / "requirements.txt"
INSTRUCTOR_ONLY = {"jupyter_client", "nbclient", "nbformat", "pytest", "nh3"}  # the graders' tools (nh3: autograde.grading.inert), not the students'
INSTRUCTOR_ONLY |= {"rich"}  # gdgrade's progress bar (autograde.classroom.progress)
INSTRUCTOR_ONLY |= {"latex2mathml"}  # formulas of feedback pages (autograde.frontends.nbgrader.feedback_math)
TENSORFLOWS = {"tensorflow", "tensorflow-cpu"}


def manylinux(arch: str) -> list[str]:
    """pip takes --platform literally: list every glibc from 2.28 (Debian 10, RHEL 8) down to 2.17."""
    return [f"manylinux_2_{m}_{arch}" for m in range(28, 16, -1)] + [f"manylinux2014_{arch}"]


# platform -> (environment markers see there, pip --platform tags, the TensorFlow with wheels there)
PLATFORMS = {
    "linux-x86_64": ({"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
                      "os_name": "posix"}, manylinux("x86_64"), "tensorflow-cpu"),
    "linux-aarch64": ({"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64",
                       "os_name": "posix"}, manylinux("aarch64"), "tensorflow"),
    "macos-arm64": ({"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64",
                     "os_name": "posix"}, ["macosx_12_0_arm64"], "tensorflow"),
    "macos-x86_64": ({"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "x86_64",
                      "os_name": "posix"}, ["macosx_12_0_x86_64"], "tensorflow"),
    "windows-amd64": ({"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64",
                       "os_name": "nt"}, ["win_amd64"], "tensorflow-cpu"),
}


def environment(platform: str, python: str) -> dict[str, str]:
    return {**PLATFORMS[platform][0], "python_version": python, "python_full_version": f"{python}.0",
            "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def project_requirements() -> list[Requirement]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return [Requirement(r) for r in tomllib.load(f)["project"]["dependencies"]]


def student_requirements() -> list[Requirement]:
    lines = STUDENT_REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    return [Requirement(ln) for ln in lines if ln.strip() and not ln.startswith("#")]


def chosen(requirements: list[Requirement], env: dict[str, str]) -> list[Requirement]:
    """The requirements whose markers hold in ``env``, without their markers."""
    return [Requirement(f"{r.name}{'[' + ','.join(sorted(r.extras)) + ']' if r.extras else ''}{r.specifier}")
            for r in requirements if r.marker is None or r.marker.evaluate(env)]


@pytest.mark.parametrize("python", ["3.10", "3.11", "3.12"])
@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("source", ["pyproject.toml", "requirements.txt"])
def test_markers_choose_exactly_the_tensorflow_with_wheels_on_each_platform(source, platform, python):
    reqs = project_requirements() if source == "pyproject.toml" else student_requirements()
    names = [canonicalize_name(r.name) for r in chosen(reqs, environment(platform, python))]
    assert [n for n in names if n in TENSORFLOWS] == [PLATFORMS[platform][2]], (source, names)


def test_student_requirements_are_the_projects_less_the_graders_tools():
    project = {str(r) for r in project_requirements() if r.name not in INSTRUCTOR_ONLY}
    assert {str(r) for r in student_requirements()} == project, (
        f"{STUDENT_REQUIREMENTS} and pyproject.toml disagree: copy the dependencies across")


def test_student_readme_installs_from_the_requirements_file():
    readme = (STUDENT_REQUIREMENTS.parent / "README.md").read_text(encoding="utf-8")
    assert "pip install -r requirements.txt" in readme
    assert "pip install tensorflow" not in readme, "a bare TensorFlow name breaks on some platforms"


# --- resolving against the package registry ------------------------------------------------------

def pip_report(reqs: list[Requirement], tags: list[str], *extra: str, python: str = "3.11") -> subprocess.CompletedProcess:
    """``pip install --dry-run --report -`` for another platform's wheels (nothing is installed).

    ``python`` "3.11" means 3.11.0 to pip (Requires-Python ">=3.11.5" rules a wheel out).
    """
    with tempfile.TemporaryDirectory() as target:
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
               "--only-binary=:all:", "--python-version", python, "--implementation", "cp",
               "--target", target, "--report", "-", "--timeout", "30", "--retries", "1", *extra,
               *[a for tag in tags for a in ("--platform", tag)], *map(str, reqs)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def needed(resolved: dict[str, dict], top: list[Requirement], env: dict[str, str]) -> list[Requirement]:
    """Every requirement that applies on the target, reached from ``top`` through ``resolved``.

    pip evaluates markers on this machine even with --platform, so this walks the dependencies
    again with the target's markers (extras included).
    """
    extras: dict[str, set[str]] = defaultdict(set)
    todo, seen, out = list(top), set(), []
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        out.append(req)
        new = set(req.extras) - extras[name]
        if name in seen and not new:
            continue
        seen.add(name)
        extras[name] |= new
        for text in resolved.get(name, {}).get("requires_dist", []):
            dep = Requirement(text)
            if dep.marker is None or any(dep.marker.evaluate({**env, "extra": e}) for e in {"", *extras[name]}):
                todo.append(dep)
    return out


@pytest.mark.registry
@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_direct_requirement_has_a_wheel_on_each_platform(platform):
    """The fast part (about 3 s a platform): TensorFlow and the other direct requirements, no deps."""
    _, tags, tensorflow = PLATFORMS[platform]
    proc = pip_report(chosen(project_requirements(), environment(platform, "3.11")), tags, "--no-deps")
    assert proc.returncode == 0, f"{platform}: {proc.stderr[-2000:]}"
    names = {canonicalize_name(i["metadata"]["name"]) for i in json.loads(proc.stdout)["install"]}
    assert sorted(TENSORFLOWS & names) == [tensorflow]


@pytest.mark.slow
@pytest.mark.registry
@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_whole_install_resolves_to_wheels_on_each_platform(platform):
    _, tags, tensorflow = PLATFORMS[platform]
    env = environment(platform, "3.11")
    top = chosen(project_requirements(), env)
    proc = pip_report(top, tags)
    assert proc.returncode == 0, f"{platform}: {proc.stderr[-2000:]}"
    resolved = {canonicalize_name(i["metadata"]["name"]): i["metadata"]
                for i in json.loads(proc.stdout)["install"]}
    for _ in range(5):  # add what only the target's markers ask for (pywinpty on Windows, appnope on macOS)
        reqs = needed(resolved, top, env)
        missing = {canonicalize_name(r.name): r for r in reqs if canonicalize_name(r.name) not in resolved}
        if not missing:
            break
        more = pip_report([Requirement(f"{r.name}{r.specifier}") for r in missing.values()], tags, "--no-deps")
        assert more.returncode == 0, f"{platform}: {sorted(missing)}: {more.stderr[-2000:]}"
        resolved.update({canonicalize_name(i["metadata"]["name"]): i["metadata"]
                         for i in json.loads(more.stdout)["install"]})
    unmet = [f"{r} (resolved {resolved[canonicalize_name(r.name)]['version']})" for r in reqs
             if canonicalize_name(r.name) not in resolved
             or not r.specifier.contains(resolved[canonicalize_name(r.name)]["version"], prereleases=True)]
    assert not unmet, f"{platform}: requirements not met by one set of wheels: {unmet}"
    assert sorted(TENSORFLOWS & resolved.keys()) == [tensorflow], sorted(resolved)


@pytest.mark.slow
@pytest.mark.registry
def test_the_grading_images_pinned_install_resolves():
    """docker/Dockerfile installs with docker/constraints.txt: those exact wheels exist for Linux x86_64."""
    constraints = ROOT / "docker" / "constraints.txt"
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    python = re.search(r"PYTHON_IMAGE=python:(\d+\.\d+\.\d+)-", dockerfile).group(1)  # the image's Python
    top = chosen(project_requirements(), environment("linux-x86_64", python.rsplit(".", 1)[0]))
    proc = pip_report(top, PLATFORMS["linux-x86_64"][1], "--constraint", str(constraints), python=python)
    assert proc.returncode == 0, proc.stderr[-2000:]
    pins = {canonicalize_name(Requirement(ln).name): str(Requirement(ln).specifier).removeprefix("==")
            for ln in constraints.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")}
    resolved = {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"]
                for i in json.loads(proc.stdout)["install"]}
    assert {n: v for n, v in resolved.items() if n in pins and pins[n] != v} == {}
    assert sorted(set(resolved) - set(pins)) == [], "every installed package is pinned: run `make docker-constraints`"


# --- the system packages `make main` and `make test` need (tools/system_packages.sh) -------------

SYSTEM_PACKAGES = ROOT / "tools" / "system_packages.sh"


def run_system_check(tmp_path, target, *, root=False, sudo=False, apt=True, apt_fails=False, present=()):
    """Run the check with stand-ins for the system's tools: ``present`` names what is installed
    (bwrap, libseccomp, chromium, fonts); ``apt-get`` records its arguments instead of installing."""
    import shutil

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("grep", "env", "uname", "cat", "true", "mktemp", "tail", "rm"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    stubs = {"id": f"echo {0 if root else 1000}",
             "sudo": '[ "$1" = -n ] && shift; exec "$@"' if sudo else "exit 1",
             "ldconfig": "echo 'libseccomp.so.2 (libc6,x86-64) => /lib/libseccomp.so.2'" if "libseccomp" in present else "true",
             "fc-list": "echo 'WenQuanYi Zen Hei'" if "fonts" in present else "true"}
    if apt:
        stubs["apt-get"] = f'echo "$@" >> {tmp_path / "apt.log"}' + ("; echo 'E: not signed'; exit 100" if apt_fails else "")
    stubs.update({name: "true" for name in ("bwrap", "chromium") if name in present})
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    proc = subprocess.run(["/bin/sh", str(SYSTEM_PACKAGES), target], capture_output=True, text=True, timeout=60,
                          env={"PATH": str(bin_dir), "VENV": sys.prefix})
    apt_log = tmp_path / "apt.log"
    return proc, apt_log.read_text() if apt_log.exists() else ""


def test_system_check_without_rights_stops_with_one_line_naming_the_command(tmp_path):
    proc, apt = run_system_check(tmp_path, "main", present=("chromium", "fonts"))
    assert proc.returncode == 1 and apt == ""
    assert proc.stderr.splitlines() == [
        "make main: missing system packages: bubblewrap libseccomp2. "
        "Run: sudo apt-get install -y bubblewrap libseccomp2 (then make main again)"]


def test_system_check_installs_what_is_missing_where_the_user_may(tmp_path):
    proc, apt = run_system_check(tmp_path, "main", root=True, present=("libseccomp",))
    assert proc.returncode == 0, proc.stderr
    assert apt.splitlines() == ["update -qq", "install -y -qq bubblewrap"]
    (tmp_path / "sudo").mkdir()
    proc, apt = run_system_check(tmp_path / "sudo", "test", sudo=True, present=("bwrap", "libseccomp"))
    assert proc.returncode == 0, proc.stderr
    assert apt.splitlines()[-1] == "install -y -qq chromium fonts-wqy-zenhei"


def test_system_check_whose_install_fails_ends_with_the_command_to_run(tmp_path):
    proc, _ = run_system_check(tmp_path, "main", root=True, apt_fails=True, present=("libseccomp",))
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-2:] == [
        "E: not signed", "make main: apt-get could not install bubblewrap. Run: sudo apt-get install -y bubblewrap"]


def test_system_check_passes_silently_when_everything_is_there(tmp_path):
    proc, apt = run_system_check(tmp_path, "test", present=("bwrap", "libseccomp", "chromium", "fonts"))
    assert (proc.returncode, proc.stderr, apt) == (0, "", "")


def test_system_check_without_apt_names_the_packages(tmp_path):
    proc, _ = run_system_check(tmp_path, "main", root=True, apt=False, present=("libseccomp",))
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert "missing system packages: bubblewrap" in line and "package manager" in line


def test_make_main_and_make_test_run_the_system_check_first():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^main: system setup\b", makefile, re.M)
    assert re.search(r"^test: system-test setup\b", makefile, re.M)
    assert "sh tools/system_packages.sh test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
