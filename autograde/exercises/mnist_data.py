"""What the MNIST graders share: their own copy of the data, and thresholds relative to a reference run.

Shared by the MNIST exercises (2 and 3). The graders never use data from the submission:
they load MNIST themselves through ``gdkit.data``, in the grader's process, and evaluate the
student's trained parameters on that test set. A trained model passes when its accuracy is at
most ``MARGIN`` below the grader's own reference run: the source notebook's answers trained
on the same data, with the same budget and seed (``autograde.reference_run``, cached per data
source), so the thresholds hold on the embedded digits, the full MNIST or any
``GD_MNIST_PATH`` file alike.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

import numpy as np

#: How far below the reference run's test accuracy a trained model may land. Over 10 seeds on
#: the embedded digits the solution spans 0.013 (MLP, 0.918–0.931) and 0.008 (logistic
#: regression, 0.896–0.904; `python bench/calibrate_mnist.py --seeds 10`, docs/calibration.md):
#: the margin is about twice the wider span. On the embedded digits at seed 0 the thresholds come out at 0.892 (MLP)
#: and 0.871 (logistic regression), no lower than the fixed ones they replace (0.89, 0.87).
MARGIN = 0.025


def data_paths() -> list:
    """Where the grader finds MNIST (Keras' cache, ``GD_MNIST_PATH``, the embedded digits' cache):
    the kernel reads the same."""
    import os

    from gdkit import data

    paths = [data.keras_cache_path().parent]
    if os.environ.get(data.ENV_PATH):
        paths.append(os.environ[data.ENV_PATH])
    cache = embedded_cache()
    return paths + ([cache] if cache else [])


def data_env() -> dict[str, str]:
    """The kernel reads the embedded digits from the grader's cache (bound read-only)."""
    from gdkit import data

    cache = embedded_cache()
    return {data.ENV_CACHE: str(cache)} if cache else {}


@functools.lru_cache(maxsize=1)
def embedded_cache():
    """The folder of the embedded digits' split as ``.npy`` files, made by the grader once per
    machine (``gdkit.data.embedded``); None when it cannot be written."""
    from gdkit import data

    data.embedded()
    folder = data.embedded_cache()
    return folder if data._read_cache(folder) is not None else None


@functools.lru_cache(maxsize=1)
def grader_data():
    """The grader's own MNIST (loaded once per process), without the loader's message."""
    from gdkit.data import load_mnist

    return load_mnist(verbose=False)


def fingerprint() -> str:
    """What the grader's data is, for caching reference runs per data source: a digest of its arrays."""
    data = grader_data()
    digest = hashlib.sha256()
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


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
    them) on the grader's test
    set; it is applied to the reference run's values here and to the student's by the caller.
    """
    from autograde.reference_run import source_values

    reference = accuracy(source_values(notebook, target, needs, key=fingerprint(), expect=expect))
    minimum = round(reference - MARGIN, 4)
    return minimum, (f"the grader's own run of the lesson's solution reached {reference:.4f} on the same "
                     f"data, budget and seed, less {MARGIN}; {grader_data().describe()}")
