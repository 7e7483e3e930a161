"""The package works installed, not only editable: the wheel holds every package and the course.

The wheel is built offline from a copy of the files it is made of (``pip wheel --no-deps
--no-build-isolation``, about 2 s). The slow test installs it (``--no-deps``) into a fresh venv
whose site-packages holds hard links to ``.venv``'s dependencies (not the editable install, not
the source tree: a sandboxed kernel sees the venv's own folders only, so a ``.pth`` pointing at
``.venv`` would not do), then grades an example submission from a folder outside the repository
with the installed graders, in the sandbox (about 20 s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from autograde.demo import examples

try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
#: What the wheel is built from (setup.py copies the course into autograde/course).
BUILD_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "nbgrader_config.py")
BUILD_TREES = ("autograde", "source", "tests/submissions")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in BUILD_FILES:
        shutil.copy2(ROOT / name, src / name)
    for name in BUILD_TREES:
        shutil.copytree(ROOT / name, src / name, ignore=SKIP)
    out = tmp_path_factory.mktemp("wheels")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                           "--no-index", "--wheel-dir", str(out), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (path,) = out.glob("*.whl")
    return path


def test_the_wheel_holds_every_package_the_course_and_the_example_class(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "autograde").rglob("*.py")
               if "__pycache__" not in p.parts}
    gdkit_dir = ROOT / "source" / "gd_applications" / "gdkit"
    gdkit = {"gdkit/" + p.relative_to(gdkit_dir).as_posix() for p in gdkit_dir.rglob("*.py")
             if "__pycache__" not in p.parts}
    course = {"autograde/course/nbgrader_config.py"} | {
        "autograde/course/" + p.relative_to(ROOT).as_posix()
        for p in (ROOT / "source" / "gd_applications").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    class_notebooks = {"autograde/course/" + path.relative_to(ROOT).as_posix()
                       for student in examples.CLASS for path in examples.class_files(student).values()}
    assert modules - names == set(), "autograde modules missing from the wheel (pyproject: packages.find)"
    assert gdkit - names == set(), "gdkit modules missing from the wheel"
    assert course - names == set(), "the course (source/, nbgrader_config.py) missing: see setup.py"
    assert class_notebooks - names == set(), "the example class's notebooks missing: see setup.py"
    assert not any(n.startswith(("tests/", "source/", "autograde/course/tests/submissions/corpus/")) for n in names)


def test_the_graders_kernel_libraries_are_bounded_below_their_next_major_version():
    with open(ROOT / "pyproject.toml", "rb") as f:
        deps = {Requirement(r).name.replace("-", "_"): Requirement(r) for r in tomllib.load(f)["project"]["dependencies"]}
    from importlib.metadata import version

    for name in ("jupyter_client", "nbclient"):
        installed = Version(version(name))
        assert installed in deps[name].specifier, (name, installed)
        assert Version(f"{installed.major + 1}") not in deps[name].specifier, f"{name} needs an upper bound"


def _fresh_venv(folder: Path) -> Path:
    """A venv at ``folder`` whose site-packages links ``.venv``'s, less this project's editable install."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    ours = Path(sysconfig.get_paths()["purelib"])
    entries = [str(e) for e in ours.iterdir()
               if not e.name.startswith(("__editable__", "gd_applications_course"))
               and e.name not in ("autograde", "gdkit", "__pycache__") and not (site / e.name).exists()]
    subprocess.run(["cp", "-al", *entries, str(site)], check=True, timeout=300)
    return python


@pytest.mark.slow
def test_the_installed_wheel_grades_an_example_submission_outside_the_repository(wheel, tmp_path):
    # hard links need the same file system as .venv: else a folder inside .venv (ignored by git)
    base = tmp_path if os.stat(tmp_path).st_dev == os.stat(sys.prefix).st_dev else Path(
        tempfile.mkdtemp(prefix=".test-packaging-", dir=sys.prefix))
    try:
        python = _fresh_venv(base / "venv")
        proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                               "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        work = tmp_path / "class"
        work.mkdir()
        shutil.copy2(ROOT / "tests" / "submissions" / "01_linear_system" / "solution.ipynb",
                     work / "01_linear_system.ipynb")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("GD_")}
        env["PATH"] = os.pathsep.join([str(python.parent), env["PATH"]])
        where = subprocess.run([str(python), "-c", "import autograde, gdkit; print(autograde.__file__, gdkit.__file__)"],
                               cwd=work, env=env, capture_output=True, text=True, timeout=60)
        assert where.returncode == 0 and str(ROOT) not in where.stdout, where.stdout + where.stderr
        package = Path(where.stdout.split()[0]).parent
        proc = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package),
                               "--submission", "01_linear_system.ipynb"],
                              cwd=work, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        summary = json.loads((work / "grading-results" / "summary.json").read_text(encoding="utf-8"))
        expected = examples.example("01_linear_system", "solution").points
        assert summary["points"] == sum(expected.values()) > 0, summary
    finally:
        if base != tmp_path:
            shutil.rmtree(base, ignore_errors=True)
