"""Broken and hostile submissions, kept as notebooks named by what they do, with the points each gets.

Each case starts from an example of ``tests/examples.py`` and changes the notebook: an answer
cell replaced, a cell added, test cells or read-only cells deleted or edited. ``points`` is
what both front ends give (the hidden pytest graders and ``nbgrader autograde``), and
``message`` a phrase of the report of every check that scores 0, under both.
``python -m tests.corpus`` writes the notebooks to ``tests/submissions/corpus/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograde.assignment.notebook import check_id, is_given_cell
from tests.examples import LR_FULL, LS_FULL, MLP_FULL, ROOT, build, example

OUT = ROOT / "tests" / "submissions" / "corpus"
#: Per-cell time limit the corpus is graded with: 2.5 times the slowest check of an honest
#: notebook (linear_systems_converge, 6 s with two notebooks graded at once). The endless
#: loop in a stub costs three of these.
CELL_TIMEOUT = 15
#: Per-notebook limit: above the slowest case that must finish (the endless loop in a stub,
#: about 3 × 15 + 17 s), and what the endless training loop costs.
NOTEBOOK_TIMEOUT = 90


@dataclass(frozen=True)
class Case:
    """A hostile or broken submission: what it does, how it is made, the points and report it gets."""

    name: str
    base: tuple[str, str]  # (notebook, example name)
    edit: Callable[[nbformat.NotebookNode], None]
    points: dict[str, int]
    message: dict[str, str] = field(default_factory=dict)  # grade_id -> phrase its report holds
    needs_sandbox: bool = False  # defended by the bubblewrap sandbox (no fallback without it)
    #: text of the hidden graders that must appear nowhere in what the student gets back
    leaks: tuple[str, ...] = ()

    @property
    def notebook(self) -> str:
        return self.base[0]


def _answer(grade_id: str, source: str) -> Callable:
    def edit(nb):
        for cell in nb.cells:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
                cell.source = source.strip("\n")
    return edit


def _append(source: str, after: str | None = None) -> Callable:
    """Add a student cell with ``source`` after the cell whose grade_id is ``after`` (default: at the end)."""
    def edit(nb):
        cell = nbformat.v4.new_code_cell(source.strip("\n"))
        taken, cell.id, k = {c.get("id") for c in nb.cells}, "added-by-student", 2
        while cell.id in taken:  # fixed ids, so that the notebook written is reproducible
            cell.id, k = f"added-by-student-{k}", k + 1
        index = len(nb.cells)
        if after:
            index = 1 + next(i for i, c in enumerate(nb.cells)
                             if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == after)
        nb.cells.insert(index, cell)
    return edit


def _test_cells(action: str) -> Callable:
    def edit(nb):
        keep = []
        for cell in nb.cells:
            if check_id(cell):
                if action == "delete":
                    continue
                cell.source = "# the student made this test always pass\npass"
            keep.append(cell)
        nb.cells = keep
    return edit


def _read_only_cells(prefix: str) -> Callable:
    """Prefix every read-only code cell that is not a test cell (given code) with ``prefix``."""
    def edit(nb):
        for cell in nb.cells:
            if cell.cell_type == "code" and is_given_cell(cell):
                cell.source = prefix + cell.source
    return edit


def _given_cells_deleted(nb) -> None:
    """Delete every read-only cell of given code (setup, the training loop, the plots)."""
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and is_given_cell(c))]


def _deleted(grade_id: str) -> Callable:
    def edit(nb):
        nb.cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != grade_id]
    return edit


def _identity(nb) -> None:
    """The example as it is (a case that the examples already make)."""


def _mistake(name: str) -> Callable:
    """The answers of the typical mistake ``name`` of tests/mistakes.py."""
    from tests.mistakes import MISTAKES

    answers = next(m for m in MISTAKES if m.name == name).answers()
    return _both(*(_answer(grade_id, source) for grade_id, source in answers.items()))


def _both(*edits: Callable) -> Callable:
    def edit(nb):
        for e in edits:
            e(nb)
    return edit


# The cases below act on what the test gives them through the environment: canary files
# and a folder outside the work folder, a TCP port on the grading machine's loopback. Both
# front ends run the kernel in a sandbox (bubblewrap), so none of them gets anywhere.
STEAL_SOLUTIONS = '''
import glob
import os

# the kernel's PYTHONPATH names the course folder: look for the solution notebooks there
for root in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    for path in glob.glob(os.path.join(root, "source", "*", "01_linear_system.ipynb")):
        import json
        for cell in json.load(open(path))["cells"]:
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                exec("".join(cell["source"]).replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""))
'''
TAMPER_FILES = '''
import os

canary = os.environ.get("GD_CANARY")
if canary:
    try:
        with open(canary, "w") as f:
            f.write("overwritten by a student")
    except OSError as exc:
        print("could not write:", exc)
'''
DELETE_FILES = '''
import os
import shutil

# a file and a folder standing for the gradebook and the other students' submissions
for target in (os.environ.get("GD_CANARY_DELETE"), os.environ.get("GD_CANARY_DIR")):
    if target:
        try:
            shutil.rmtree(target) if os.path.isdir(target) else os.remove(target)
        except OSError as exc:
            print("could not delete:", exc)
'''
HIDE_FAILURES = '''
import IPython
import numpy.testing

# silence every way a failing check could show itself
numpy.testing.assert_allclose = lambda *args, **kwargs: None
numpy.testing.assert_array_almost_equal = lambda *args, **kwargs: None
IPython.core.interactiveshell.InteractiveShell.showtraceback = lambda *args, **kwargs: None
get_ipython().showtraceback = lambda *args, **kwargs: None
get_ipython().showsyntaxerror = lambda *args, **kwargs: None
'''
PATCH_LS_GRADERS = '''
# the graders of earlier versions ran inside the kernel: try to switch them off
try:
    import autograde.assignment.registry

    autograde.assignment.registry.run_check = lambda *args, **kwargs: None
    autograde.assignment.registry.run_hidden = lambda *args, **kwargs: None
except ImportError as exc:
    print("no graders to patch:", exc)
'''
# The kernel computes, the grader judges: every way below of making the kernel *say* "passed"
# or hand back values the student's code did not compute must earn nothing.
EXECUTE_RESULT_BEFORE_TESTS = '''
# before every later cell, emit an execute_result: nbgrader used to take a test cell's first
# execute_result as its grade
def __full_marks(info):
    get_ipython().displayhook(10)


get_ipython().events.register("pre_run_cell", __full_marks)
get_ipython().events.register("post_run_cell", lambda result: get_ipython().displayhook(10))
'''
REPLACE_REPORTING = '''
import json
import os

import numpy as np

import gdkit.checks._common
import gdkit.probe

# earlier graders reported from inside the kernel: replace whatever reports
try:
    import autograde.kernel

    autograde.kernel.report = lambda *args, **kwargs: None
except ImportError as exc:
    print("no reporting function to replace:", exc)
gdkit.checks._common.CheckFailed = type("Never", (Exception,), {})


def __serve_anything(ns, target, needs, folder):
    """Hand back zeros shaped like the inputs, for every probe, without calling any student code."""
    with np.load(os.path.join(folder, "in.npz")) as f:
        inputs = {k: f[k] for k in f.files}
    out = {"loss": 0.0, "grad": np.zeros(2), "stop": np.zeros(len(inputs.get("loss", [])), bool), "epoch": 100,
           "v": inputs.get("v0", np.zeros(2)), "early": inputs.get("v0", np.zeros(2)), "returned": np.zeros(3)}
    np.savez(os.path.join(folder, "out.npz"), **out)


gdkit.probe.serve = __serve_anything
'''
FORGE_FROM_CELL_TEXT = '''
import glob
import os
import re
import threading
import time

import numpy as np


def __forge(folder):
    """Answers that need no gradient descent: the exact solution, a stop at epoch 100."""
    try:
        with np.load(os.path.join(folder, "in.npz")) as f:
            inputs = {k: f[k] for k in f.files}
    except OSError:
        return
    if "A" in inputs and "epochs" in inputs:
        exact = np.linalg.solve(inputs["A"].astype(float), inputs["b"].astype(float)[..., None])[..., 0]
        np.savez(os.path.join(folder, "out.npz"), v=exact, early=exact)
    elif "losses" in inputs:
        np.savez(os.path.join(folder, "out.npz"), epoch=100)


def __after_each_cell(result):
    # the grader's cell names its folder: read it from the cell's text, or from In
    text = result.info.raw_cell + "".join(get_ipython().user_ns.get("In", [])[-1:])
    for folder in set(re.findall(r"/[\\w/.-]*probe-[0-9a-f]+", text)):
        __forge(folder)


get_ipython().events.register("post_run_cell", __after_each_cell)


def __race():
    # and a thread that answers for every probe folder the moment it appears
    while True:
        for folder in glob.glob("/tmp/gdk-*/probe-*"):
            __forge(folder)
        time.sleep(0.001)


threading.Thread(target=__race, daemon=True).start()
'''
IMPORT_REFERENCE = '''
import glob
import importlib
import sys

# the grader's reference code and checks: importable before, and anywhere on the disk?
for name in ("autograde.exercises.linear_system.reference", "autograde.linear_system", "autograde.assignment.registry"):
    try:
        importlib.import_module(name)
        print("imported", name)
    except ImportError as exc:
        print("cannot import", name, exc)
for finder in [m for m in sys.modules if "editable" in m]:
    for path in getattr(sys.modules[finder], "MAPPING", {}).values():
        for found in glob.glob(f"{path}/**/reference.py", recursive=True):
            print("found", found)
            exec(open(found).read())


def linear_system_loss(A, b, v):
    import tensorflow as tf

    return tf.constant(loss(A.numpy(), b.numpy(), v.numpy()), tf.float32)  # noqa: F821 - from reference.py
'''
PRINT_HIDDEN_CODE = '''
import glob
import inspect
import os
import sys

# put the hidden tests into the feedback: print every grader source the kernel can find
for name in ("autograde.assignment.registry", "autograde.exercises.linear_system.checks"):
    try:
        module = __import__(name, fromlist=["x"])
        print(inspect.getsource(module))
    except ImportError as exc:
        print("cannot import", name)
roots = set(sys.path) | {os.getcwd()} | {os.path.dirname(p) for p in glob.glob("/tmp/*/")}
roots |= {str(parent) for parent in __import__("pathlib").Path(os.getcwd()).parents}
for finder in [m for m in sys.modules if "editable" in m]:
    roots |= {os.path.dirname(p) for p in getattr(sys.modules[finder], "MAPPING", {}).values()}
for root in sorted(roots):
    for path in glob.glob(f"{root}/autograde/**/*.py", recursive=True)[:50]:
        print(path)
        print(open(path, encoding="utf-8", errors="replace").read())
'''
# What the kernel leaves behind must never harm the host that grades it.
LINKS_FOR_THE_HOST = '''
import os

# turn this folder's notebooks into links to the gradebook, and leave a link to a solution,
# hoping that the grader writes the graded notebook, or copies the feedback, through them
for name in os.listdir("."):
    if name.endswith(".ipynb"):
        os.remove(name)
        os.symlink("../../../gradebook.db", name)
os.symlink(os.path.abspath("../../../source/gd_applications/01_linear_system.ipynb"), "leak_solution.html")
'''
FILL_THE_DISK = '''
import os

chunk = b"x" * 2**20
for path in ("big.bin", "/tmp/big.bin"):  # the working folder (real disk), then the sandbox's /tmp
    try:
        with open(path, "wb") as f:
            for _ in range(4096):  # 4 GiB
                f.write(chunk)
    except OSError as exc:
        print(path, "stopped:", exc.strerror)
    finally:
        if os.path.exists(path):
            os.remove(path)
'''
MANY_FILES = '''
import os

os.makedirs("many", exist_ok=True)
for i in range(50_000):  # 16 KiB each: 800 MB in all, none of them big
    with open(f"many/{i}.bin", "wb") as f:
        f.write(b"x" * 16384)
'''
FORK_BOMB = '''
import os, signal

children = []
try:
    while len(children) < 3000:  # forks until refused (a bomb would also fork in the children)
        pid = os.fork()
        if pid == 0:
            signal.pause()
            os._exit(0)
        children.append(pid)
except OSError as exc:
    print("fork refused after", len(children), "processes:", exc.strerror)
finally:
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
'''
THREAD_BOMB = '''
import threading

release = threading.Event()
threads = []
try:
    while len(threads) < 3000:
        threads.append(threading.Thread(target=release.wait, daemon=True))
        threads[-1].start()
except RuntimeError as exc:
    threads.pop()
    print("threads refused after", len(threads), ":", exc)
finally:
    release.set()
    for thread in threads:
        thread.join()
'''
FIFO_FOR_THE_GRADER = '''
import os
import re


def __block_the_grader(result):
    # a FIFO where the grader reads the probe's values: reading it would wait for ever
    for folder in set(re.findall(r"/[\\w/.-]*probe-[0-9a-f]+", result.info.raw_cell)):
        try:
            os.mkfifo(os.path.join(folder, "out.json"))
        except OSError:
            pass


get_ipython().events.register("post_run_cell", __block_the_grader)
'''
FLOOD_OUTPUT = '''
import os

from IPython.display import display

# 20 MB of display data, and 40 MB written straight to the kernel's stdout and stderr
for _ in range(20_000):
    display({"text/plain": "x" * 1000}, raw=True)
for _ in range(200):
    os.write(1, b"y" * 100_000)
    os.write(2, b"z" * 100_000)
'''
# Values obtained without the student's functions: the end-to-end checks read what the given
# training produced, right after it ran (Check.judged_after), from zero weights.
TRAIN_W_B_ANOTHER_WAY = '''
# train W and b without sgd_step: Keras' SGD on a hand-written loss
sgd = tf.keras.optimizers.SGD(0.1)


@tf.function
def own_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, tf.matmul(x, W) + b))
    sgd.apply_gradients(zip(tape.gradient(loss, [W, b]), [W, b]))
    return loss


rng = np.random.default_rng(0)
losses = []
for _ in range(2000):
    idx = rng.integers(0, len(x_train), 128)
    losses.append(float(own_step(tf.constant(x_train[idx]), tf.constant(y_train[idx]))))
'''
REFIT_THE_MODEL = '''
# train the network with Keras' fit instead of train_step
model.compile(optimizer="adam", loss="categorical_crossentropy")
model.fit(x_train, y_train_1h, epochs=8, batch_size=100, verbose=0)
'''
SGD_STUB = '''
def sgd_step(x, y, W, b, lr):
    raise NotImplementedError()
'''
TRAIN_STEP_STUB = '''
def train_step(model, optimizer, loss_fn, x, y):
    raise NotImplementedError()
'''
PHONE_HOME = '''
import os
import socket

port = int(os.environ.get("GD_CANARY_PORT", "0"))
if port:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(b"hidden tests leaked")
    except OSError as exc:
        print("could not connect:", exc)
'''

# Values with the property a check of a property looks for, made without any graded function
# (the stubs stay untouched): each would pass its check if a property alone earned points.
FORGED_SERVE = '''
import os

import numpy as np

import gdkit.probe

__real_serve = gdkit.probe.serve


def __serve(ns, target, needs, folder):
    """Answer the property probes with values made here; leave the rest to the real probe."""
    with np.load(os.path.join(folder, "in.npz")) as f:
        inputs = {k: f[k] for k in f.files}
    out = __forged(target.rpartition(":")[2], inputs, needs)
    if out is None:
        return __real_serve(ns, target, needs, folder)
    np.savez(os.path.join(folder, "out.npz"), **out)
'''
#: The last line of each forging cell: the probe is replaced once everything it calls is defined.
SERVE_REPLACED = "\n\ngdkit.probe.serve = __serve\n"
FORGE_LS_PROPERTIES = FORGED_SERVE + '''

def __adam(A, b, v, steps, lr=0.1):
    """Keras' Adam on the sum of squared residuals of every system at once, in NumPy."""
    m, s = np.zeros_like(v), np.zeros_like(v)
    for t in range(1, steps + 1):
        g = 2 * np.einsum("rji,rj->ri", A, np.einsum("rij,rj->ri", A, v) - b)
        m, s = 0.9 * m + 0.1 * g, 0.999 * s + 0.001 * g * g
        v = v - lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(s) + 1e-7)
    return v


def __forged(name, inputs, needs):
    if name == "probe_stop_epoch":  # the rule's own epoch, computed here without should_stop
        hits = np.flatnonzero(np.abs(np.diff(inputs["losses"])) < inputs["tol"])
        return {"epoch": int(hits[0]) + 2}
    if name == "probe_solve":  # an exact solve, and ten Adam steps for the path
        A, b, v0 = (inputs[k].astype(np.float64) for k in ("A", "b", "v0"))
        return {"v": np.linalg.solve(A, b[..., None])[..., 0], "early": __adam(A, b, v0, 10)}
    return None
''' + SERVE_REPLACED
FORGE_MLP_PROPERTIES = FORGED_SERVE + '''
import tensorflow as tf

from gdkit.data import load_mnist

# a network trained by Keras' own fit, on the training and the test images alike
__data = load_mnist()
__x = np.concatenate([__data.x_train, __data.x_test])
__y = np.concatenate([__data.y_train, __data.y_test])
__model = tf.keras.Sequential([
    tf.keras.layers.Input((28, 28)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(128, activation="relu"),
    tf.keras.layers.Dropout(0.2), tf.keras.layers.Dense(10, activation="softmax")])
__model.compile("adam", "sparse_categorical_crossentropy")
__model.fit(__x, __y, epochs=4, batch_size=64, verbose=0)


def __forged(name, inputs, needs):
    if name == "weights":
        return {f"w{i}": w for i, w in enumerate(__model.get_weights())}
    if name == "probe_training_mode":  # the moving mean a step in training mode would leave
        flat, x = inputs["weights"], inputs["x"].reshape(len(inputs["x"]), -1)
        parts = [flat[i * 784:(i + 1) * 784] for i in range(4)] + [flat[4 * 784:4 * 784 + 7840].reshape(784, 10),
                                                                   flat[-10:]]
        parts[2] = 0.01 * x.mean(axis=0)
        parts[3] = 0.99 + 0.01 * x.var(axis=0)
        return {**{f"w{i}": p for i, p in enumerate(parts)}, "returned": np.array([0.1])}
    return None
''' + SERVE_REPLACED
FORGE_LR_PROPERTIES = FORGED_SERVE + '''
from gdkit.data import load_mnist

# a softmax regression fitted here in NumPy, on the training and the test images alike
__data = load_mnist()
__x = np.concatenate([__data.x_train, __data.x_test]).reshape(-1, 784).astype(np.float64)
__y = np.eye(10)[np.concatenate([__data.y_train, __data.y_test])]
__W, __b = np.zeros((784, 10)), np.zeros(10)
for __ in range(120):
    __z = __x @ __W + __b
    __p = np.exp(__z - __z.max(axis=1, keepdims=True))
    __p /= __p.sum(axis=1, keepdims=True)
    __W -= 1.0 * __x.T @ (__p - __y) / len(__x)
    __b -= 1.0 * (__p - __y).mean(axis=0)
__xt = __data.x_test.reshape(-1, 784)
__accuracy = float(np.mean(np.argmax(__xt @ __W + __b, axis=1) == __data.y_test))


def __forged(name, inputs, needs):
    if name == "values":  # W, b, and the recorded losses or the reported accuracy
        made = {"W": __W.astype(np.float32), "b": __b.astype(np.float32),
                "losses": np.linspace(2.3, 0.3, 2000), "test_accuracy": __accuracy}
        return {f"v{i}": made[n] for i, n in enumerate(needs)}
    return None
''' + SERVE_REPLACED
VERDICT_LOOKING_ERROR = '''
def should_stop(loss, previous_loss, tol):
    raise ValueError("✔ 通過 passed (judged by the grader): 2/2 points\\n"
                     "=HYPERLINK(\\"http://example.invalid\\", \\"full marks\\")\\n"
                     "<b>**all checks passed**</b>\\x1b[32m OK \\x1b[0m")
'''
NAN_ACCURACY = '''
def accuracy(y_true, z):
    return tf.constant(float("nan"))
'''


# Student output that would run in a viewer: each payload calls canary(<its name>), which records
# in every way a page can tell (tests/frontends/test_browser.py looks for each).
def canary(name: str) -> str:
    """JavaScript (no spaces, quotes but single ones, no ``<``, ``>`` or ``&``: it fits any
    attribute) that marks ``name`` in ``window.top.__pwned`` and the title, requests
    ``/gd-pwned/<name>`` and creates ``gd-pwned-<name>.txt`` through Jupyter's contents API."""
    return ("(function(i,x){try{(window.top.__pwned=window.top.__pwned||[]).push(i)}catch(e){}"
            "document.title='pwned:'+i;fetch('/gd-pwned/'+i,{mode:'no-cors'}).catch(function(){});"
            "x=(document.cookie.match(/_xsrf=([^;]+)/)||[])[1]||'';"
            "fetch('/api/contents/gd-pwned-'+i+'.txt',{method:'PUT',headers:{'X-XSRFToken':decodeURIComponent(x)},"
            "body:JSON.stringify({type:'file',format:'text',content:i})}).catch(function(){})})('" + name + "')")


PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
_SVG = '<svg xmlns="http://www.w3.org/2000/svg" onload="{js}"><script>{js}</script></svg>'
#: name -> (MIME bundle, output metadata) a student's cell displays
PAYLOADS: dict[str, tuple[dict, dict]] = {
    "html_script": ({"text/html": f"<script>{canary('html_script')}</script>"}, {}),
    "html_img_onerror": ({"text/html": f'<img src="x" onerror="{canary("html_img_onerror")}">'}, {}),
    "html_svg_onload": ({"text/html": f'<svg onload="{canary("html_svg_onload")}"></svg>'}, {}),
    "html_iframe_srcdoc": ({"text/html": f'<iframe srcdoc="<script>{canary("html_iframe_srcdoc")}</script>"></iframe>'}, {}),
    "html_details_ontoggle": ({"text/html": f'<details open ontoggle="{canary("html_details_ontoggle")}">'
                                            "<summary>x</summary></details>"}, {}),
    "html_remote_image": ({"text/html": '<img src="/gd-pwned/html_remote_image">'}, {}),
    "html_isolated": ({"text/html": f"<script>{canary('html_isolated')}</script>"}, {"text/html": {"isolated": True}}),
    "javascript": ({"application/javascript": canary("javascript"), "text/plain": "javascript"}, {}),
    "svg_script": ({"image/svg+xml": _SVG.format(js=canary("svg_script"))}, {}),
    "markdown_output": ({"text/markdown": f'<img src="x" onerror="{canary("markdown_output")}">'}, {}),
    "latex_href": ({"text/latex": f"$\\href{{javascript:{canary('latex_href')}}}{{click}}$"}, {}),
    "widget_view": ({"application/vnd.jupyter.widget-view+json": {"model_id": "gd-pwned", "version_major": 2,
                                                                  "version_minor": 0}, "text/plain": "widget"}, {}),
    "image_metadata": ({"image/png": PNG_1PX, "text/plain": "image"},
                       {"image/png": {"width": f"1 onload={canary('image_metadata')}"}}),
}
#: an output replaced later (update_display_data) and a cell's own result (execute_result)
UPDATE_PAYLOAD = {"text/html": f'<img src="x" onerror="{canary("update_display")}">'}
RESULT_PAYLOAD = {"text/html": f'<img src="x" onerror="{canary("execute_result")}">', "text/plain": "result"}
STREAM_PAYLOAD = (f"\x1b]8;;javascript:{canary('stream_osc8')}\x1b\\click me\x1b]8;;\x1b\\ "
                  "\x1b[2J\x1b[31mred\x1b[0m \u202eevil\x07")
HOSTILE_OUTPUT = "\n".join([
    "from IPython.display import display",
    "",
    *[f"display({data!r}, raw=True, metadata={meta!r})  # {name}" for name, (data, meta) in PAYLOADS.items()],
    'handle = display({"text/plain": "placeholder"}, raw=True, display_id=True)',
    f"handle.update({UPDATE_PAYLOAD!r}, raw=True)",
    f"print({STREAM_PAYLOAD!r})",
    "",
    "",
    "class Shown:",
    "    def _repr_mimebundle_(self, include=None, exclude=None):",
    f"        return {RESULT_PAYLOAD!r}",
    "",
    "",
    "Shown()",
])
HOSTILE_MARKDOWN = "\n\n".join([
    "My notes on the linear system.",
    f'<img src="x" onerror="{canary("markdown_cell_img")}">',
    f"<script>{canary('markdown_cell_script')}</script>",
    f"[a link](javascript:{canary('markdown_cell_link')})",
    "![an image from elsewhere](/gd-pwned/markdown_remote_image)",
    "![an attached SVG](attachment:evil.svg)",
])
HOSTILE_ERROR = f"raise ValueError({(chr(0x1b) + '[31m<img src=x onerror=' + canary('error_html') + '>')!r})"


def _hostile_output(nb) -> None:
    """Display every payload, write a markdown cell of raw HTML (with an SVG attached), end with an
    error whose text is HTML, and keep widget state in the notebook's metadata."""
    import base64

    _append(HOSTILE_OUTPUT, after="setup_linear_system")(nb)
    at = 1 + next(i for i, c in enumerate(nb.cells) if c.get("id") == "added-by-student")
    svg = base64.b64encode(_SVG.format(js=canary("markdown_attachment")).encode()).decode()
    cell = nbformat.v4.new_markdown_cell(HOSTILE_MARKDOWN, attachments={"evil.svg": {"image/svg+xml": svg}})
    cell.id = "markdown-by-student"
    nb.cells.insert(at, cell)
    _append(HOSTILE_ERROR)(nb)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {}, "version_major": 2, "version_minor": 0}}


LS, MLP, LR = "01_linear_system", "02_mnist_gradient_tape", "03_logistic_regression"
ZERO_LS = dict.fromkeys(LS_FULL, 0)

CASES: tuple[Case, ...] = (
    Case("endless_loop_in_stub", (LS, "solution"), _answer("should_stop_answer", '''
def should_stop(loss, previous_loss, tol):
    while True:  # waits for a change that never comes
        pass
'''), {**LS_FULL, "early_stopping_rule": 0, "early_stopping_in_loop": 0},
        {"early_stopping_rule": "time limit", "early_stopping_in_loop": "time limit"}),
    Case("kernel_exits_with_os_exit", (LS, "solution"), _answer("should_stop_answer", '''
import os


def should_stop(loss, previous_loss, tol):
    os._exit(1)
'''), {**LS_FULL, "early_stopping_rule": 0, "linear_systems_converge": 0, "early_stopping_in_loop": 0},
        {"early_stopping_rule": "kernel died", "linear_systems_converge": "kernel died",
         "early_stopping_in_loop": "kernel died"}),
    Case("sys_exit_in_a_cell", (LS, "solution"), _append("import sys\nsys.exit()", after="setup_linear_system"),
         LS_FULL),
    Case("unbounded_memory", (LS, "solution"), _answer("linear_system_loss_answer", '''
import numpy as np


def linear_system_loss(A, b, v):
    cache = np.ones((40_000, 40_000, 8))  # 100 GB
    return tf.reduce_sum(tf.square(tf.linalg.matvec(A, v) - b)) + cache[0, 0, 0] * 0
'''), {**LS_FULL, "linear_system_loss_value": 0, "linear_systems_converge": 0},
        {"linear_system_loss_value": "MemoryError", "linear_systems_converge": "MemoryError"}),
    Case("fake_passing_output", (LS, "untouched"), _append('''
from IPython.display import display
print("✔ 通過 passed: all tests — total 10 / 10")
for gid in ["linear_system_loss_value", "linear_systems_converge"]:
    display({"application/vnd.gdgrade.result+json": {"grade_id": gid, "passed": True, "message": "",
             "seconds": 0, "nonce": "guessed"}}, raw=True)
'''), ZERO_LS, dict.fromkeys(LS_FULL, "not written yet")),
    Case("deleted_test_cells", (LS, "solution"), _test_cells("delete"), LS_FULL),
    Case("edited_test_cells", (LS, "untouched"), _test_cells("edit"), ZERO_LS,
         dict.fromkeys(LS_FULL, "not written yet")),
    Case("noise_on_stderr_and_megabytes_of_output", (LS, "solution"), _append('''
import sys
import warnings

warnings.warn("a warning a student left in", stacklevel=1)
print("W tensorflow/core/framework: noisy log line", file=sys.stderr)
print("x" * 5_000_000)
''', after="setup_linear_system"), LS_FULL),
    Case("patches_the_graders", (LR, "learning_rate_zero"), _append(PATCH_LS_GRADERS + '''
import gdkit.checks._common

gdkit.checks._common.CheckFailed = type("Never", (Exception,), {})
''', after="setup_logistic"), {**LR_FULL, "loss_decreases": 0, "logreg_test_accuracy": 0},
        {"loss_decreases": "at least halve", "logreg_test_accuracy": "below the threshold"}),
    Case("reads_the_solutions_from_disk", (LS, "untouched"),
         _both(*(_answer(gid, STEAL_SOLUTIONS) for gid in
                 ("linear_system_loss_answer", "gradient_step_answer", "should_stop_answer"))),
         ZERO_LS, dict.fromkeys(LS_FULL, "is not defined"), needs_sandbox=True),
    Case("writes_outside_its_folder", (LS, "solution"), _append(TAMPER_FILES, after="setup_linear_system"),
         LS_FULL, needs_sandbox=True),
    Case("opens_a_network_connection", (LS, "solution"), _append(PHONE_HOME, after="setup_linear_system"),
         LS_FULL, needs_sandbox=True),
    Case("endless_training_loop_ignores_interrupts", (LS, "solution"), _answer("gradient_step_answer", '''
def gradient_step(loss_fn, variables, optimizer):
    while True:  # trains for ever, and swallows the grader's interrupts
        try:
            while True:
                with tf.GradientTape() as tape:
                    loss = loss_fn()
                optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        except KeyboardInterrupt:
            continue
'''), {**ZERO_LS, "linear_system_loss_value": 2},
        {"gradient_step_matches_reference": "time limit", "early_stopping_rule": "time limit",
         "linear_systems_converge": "time limit",
         "early_stopping_in_loop": f"the notebook hit its time limit of {NOTEBOOK_TIMEOUT} s"}),
    Case("segfault_in_a_stub", (LS, "solution"), _answer("gradient_step_answer", '''
import ctypes


def gradient_step(loss_fn, variables, optimizer):
    return ctypes.string_at(0)  # reads address 0: the kernel dies of a segmentation fault
'''), {**ZERO_LS, "linear_system_loss_value": 2},
        dict.fromkeys(["gradient_step_matches_reference", "early_stopping_rule", "linear_systems_converge",
                       "early_stopping_in_loop"], "kernel died")),
    Case("renamed_function", (LS, "solution"), _answer("linear_system_loss_answer", '''
def system_loss(A, b, v):
    return tf.reduce_sum(tf.square(tf.linalg.matvec(A, v) - b))
'''), {**LS_FULL, "linear_system_loss_value": 0, "linear_systems_converge": 0},
        {"linear_system_loss_value": "is not defined", "linear_systems_converge": "is not defined"}),
    Case("hides_failures_by_patching_numpy_and_ipython", (LS, "sign_reversed_step"),
         _append(HIDE_FAILURES, after="setup_linear_system"),
         {**LS_FULL, "gradient_step_matches_reference": 0, "linear_systems_converge": 0},
         {"gradient_step_matches_reference": "sign reversed",
          "linear_systems_converge": "did not reach the solution"}),
    Case("edited_read_only_cells", (LS, "solution"),
         _read_only_cells("raise RuntimeError('the student broke the given code')\n"), LS_FULL),
    Case("hard_coded_answers", (LS, "hardcoded_answer"), _identity,
         {**LS_FULL, "linear_system_loss_value": 0, "linear_systems_converge": 0},
         {"linear_system_loss_value": "sum of squared residuals",
          "linear_systems_converge": "did not reach the solution"}),
    Case("forges_the_values_the_grader_rechecks", (LS, "sign_reversed_step"),
         _both(_append(PATCH_LS_GRADERS + FORGE_FROM_CELL_TEXT, after="setup_linear_system")),
         {**LS_FULL, "gradient_step_matches_reference": 0, "linear_systems_converge": 0, "early_stopping_in_loop": 0},
         {"gradient_step_matches_reference": "sign reversed", "linear_systems_converge": "after 10 epochs",
          "early_stopping_in_loop": "first holds at epoch"}),
    Case("execute_result_before_test_cells", (LS, "untouched"),
         _append(EXECUTE_RESULT_BEFORE_TESTS, after="setup_linear_system"), ZERO_LS,
         dict.fromkeys(LS_FULL, "not written yet")),
    Case("replaces_the_reporting_functions", (LS, "untouched"),
         _append(REPLACE_REPORTING, after="setup_linear_system"), ZERO_LS,
         dict.fromkeys(LS_FULL, "asked for")),
    Case("forges_values_from_cell_text_in_and_a_thread", (LS, "untouched"),
         _append(FORGE_FROM_CELL_TEXT, after="setup_linear_system"), ZERO_LS,
         dict.fromkeys(LS_FULL, "not written yet")),
    Case("imports_the_reference_code", (LS, "untouched"), _answer("linear_system_loss_answer", IMPORT_REFERENCE),
         ZERO_LS, {**dict.fromkeys(LS_FULL, "not written yet"), "linear_system_loss_value": "NameError"},
         needs_sandbox=True),
    Case("prints_the_hidden_code", (LS, "untouched"), _append(PRINT_HIDDEN_CODE, after="setup_linear_system"),
         ZERO_LS, dict.fromkeys(LS_FULL, "not written yet"), needs_sandbox=True,
         leaks=("SOLUTION_TOL", "def systems_converge", "reference_runs")),
    Case("links_its_folder_to_the_gradebook", (LS, "solution"), _append(LINKS_FOR_THE_HOST, after="setup_linear_system"),
         LS_FULL),
    Case("fills_the_disk_and_tmp", (LS, "solution"), _append(FILL_THE_DISK, after="setup_linear_system"), LS_FULL),
    Case("fills_the_disk_with_many_small_files", (LS, "solution"), _append(MANY_FILES, after="setup_linear_system"),
         ZERO_LS, dict.fromkeys(LS_FULL, "disk limit")),
    Case("fork_bomb", (LS, "solution"), _append(FORK_BOMB, after="setup_linear_system"), LS_FULL),
    Case("thread_bomb", (LS, "solution"), _append(THREAD_BOMB, after="setup_linear_system"), LS_FULL),
    Case("a_fifo_where_the_grader_reads", (LS, "solution"), _append(FIFO_FOR_THE_GRADER, after="setup_linear_system"),
         ZERO_LS, dict.fromkeys(LS_FULL, "not a regular file")),
    Case("trains_w_b_another_way_after_the_given_loop", (LR, "solution"),
         _both(_answer("sgd_step_answer", SGD_STUB), _append(TRAIN_W_B_ANOTHER_WAY, after="train_logistic_given")),
         {**LR_FULL, "sgd_step_matches_reference": 0, "loss_decreases": 0, "logreg_test_accuracy": 0},
         {"sgd_step_matches_reference": "not written yet", "loss_decreases": "at least halve",
          "logreg_test_accuracy": "below the threshold"}),
    Case("deletes_the_given_loop_and_trains_another_way", (LR, "solution"),
         _both(_answer("sgd_step_answer", SGD_STUB), _append(TRAIN_W_B_ANOTHER_WAY, after="train_logistic_given"),
               _deleted("train_logistic_given")),
         {**LR_FULL, "sgd_step_matches_reference": 0, "loss_decreases": 0, "logreg_test_accuracy": 0},
         {"sgd_step_matches_reference": "not written yet", "loss_decreases": "at least halve",
          "logreg_test_accuracy": "below the threshold"}),
    Case("refits_the_model_with_keras", (MLP, "solution"),
         _both(_answer("train_step_answer", TRAIN_STEP_STUB), _append(REFIT_THE_MODEL, after="train_mnist_given")),
         {**MLP_FULL, "train_step_lowers_loss": 0, "train_step_training_mode": 0, "mlp_test_accuracy": 0},
         {"train_step_lowers_loss": "not written yet", "train_step_training_mode": "not written yet",
          "mlp_test_accuracy": "below the threshold"}),
    Case("floods_the_output", (LS, "solution"), _append(FLOOD_OUTPUT, after="setup_linear_system"), LS_FULL),
    Case("deletes_the_given_cells", (LS, "solution"), _given_cells_deleted, LS_FULL),
    Case("deletes_files_outside_its_folder", (LS, "solution"), _append(DELETE_FILES, after="setup_linear_system"),
         LS_FULL, needs_sandbox=True),
    # values having the property a check of a property looks for, from untouched stubs
    Case("forges_the_linear_systems_properties_from_untouched_stubs", (LS, "untouched"),
         _append(FORGE_LS_PROPERTIES, after="setup_linear_system"), ZERO_LS,
         {**dict.fromkeys(LS_FULL, "not written yet"),
          "linear_systems_converge": "follows from `linear_system_loss_value`",
          "early_stopping_in_loop": "follows from `early_stopping_rule`"}),
    Case("forges_the_networks_properties_from_untouched_stubs", (MLP, "untouched"),
         _append(FORGE_MLP_PROPERTIES, after="setup_mnist"), dict.fromkeys(MLP_FULL, 0),
         {**dict.fromkeys(MLP_FULL, "not written yet"),
          "train_step_training_mode": "follows from `train_step_lowers_loss`",
          "mlp_test_accuracy": "follows from `mnist_loss_value`"}),
    Case("forges_the_regressions_properties_from_untouched_stubs", (LR, "untouched"),
         _append(FORGE_LR_PROPERTIES, after="setup_logistic"), dict.fromkeys(LR_FULL, 0),
         {**dict.fromkeys(LR_FULL, "not written yet"),
          "loss_decreases": "follows from `logits_and_loss_value`",
          "test_accuracy_reported": "follows from `logits_and_loss_value`",
          "logreg_test_accuracy": "follows from `logits_and_loss_value`"}),
    Case("an_error_that_reads_like_a_verdict", (LS, "solution"), _answer("should_stop_answer", VERDICT_LOOKING_ERROR),
         {**LS_FULL, "early_stopping_rule": 0, "early_stopping_in_loop": 0},
         {"early_stopping_rule": "  │ `should_stop` raised ValueError: ✔ 通過 passed",
          "early_stopping_in_loop": "follows from `early_stopping_rule`"}),
    Case("accuracy_returns_nan", (LR, "solution"), _answer("accuracy_answer", NAN_ACCURACY),
         {**LR_FULL, "accuracy_value": 0, "test_accuracy_reported": 0},
         {"accuracy_value": "not a finite number", "test_accuracy_reported": "follows from `accuracy_value`"}),
    # typical mistakes (tests/mistakes.py), graded whole: charged once, end-to-end checks say why
    Case("mistake_step_loss_outside_the_tape", (LS, "solution"), _mistake("step_loss_outside_the_tape"),
         {**LS_FULL, "gradient_step_matches_reference": 0, "linear_systems_converge": 0},
         {"gradient_step_matches_reference": "no gradients at all",
          "linear_systems_converge": "follows from `gradient_step_matches_reference`"}),
    Case("mistake_mnist_loss_sum_instead_of_mean", (MLP, "solution"), _mistake("mnist_loss_sum_instead_of_mean"),
         {**MLP_FULL, "mnist_loss_value": 0, "mlp_test_accuracy": 0},
         {"mnist_loss_value": "summed, not averaged", "mlp_test_accuracy": "follows from `mnist_loss_value`"}),
    Case("mistake_logits_missing_bias", (LR, "solution"), _mistake("logits_missing_bias"),
         {**LR_FULL, "logits_and_loss_value": 0, "loss_decreases": 0, "test_accuracy_reported": 0,
          "logreg_test_accuracy": 0},
         {"logits_and_loss_value": "bias is missing",
          "loss_decreases": "follows from `logits_and_loss_value`",
          "test_accuracy_reported": "follows from `logits_and_loss_value`",
          "logreg_test_accuracy": "follows from `logits_and_loss_value`"}),
    # output never changes points: this one only must show nothing that runs (tests/frontends/test_browser.py)
    Case("displays_script_in_every_output_kind", (LS, "solution"), _hostile_output, LS_FULL),
)


def build_case(case: Case) -> nbformat.NotebookNode:
    nb = build(example(*case.base))
    case.edit(nb)
    return nb


def path_of(case: Case) -> Path:
    return OUT / f"{case.name}.ipynb"


def write_all() -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        nbformat.write(build_case(case), path_of(case))
    return [path_of(c) for c in CASES]


if __name__ == "__main__":
    for p in write_all():
        print(p.relative_to(ROOT))
