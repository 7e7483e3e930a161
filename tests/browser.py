"""Helpers for the browser test: a throwaway JupyterLab server and what a student clicks in it.

The server runs from this venv with its own config, data, runtime and IPython folders, so the
test writes nothing into the home folder; nbgrader's extensions stay enabled because they live
in the venv's ``etc/jupyter`` and ``share/jupyter``, which Jupyter always searches. The browser
is Debian's Chromium driven by Playwright (never ``playwright install``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

VENV_BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
INSTALL_HINT = (
    "The browser test needs Debian's Chromium at /usr/bin/chromium and Playwright in the venv:\n"
    "    apt-get update && apt-get install -y chromium\n"
    "    .venv/bin/pip install -e '.[dev]'    # brings playwright; never run `playwright install`"
)
KERNEL_TIMEOUT_MS = 120_000  # TensorFlow's import alone takes about 5 s on two cores
UI_TIMEOUT_MS = 30_000

# User settings written into the throwaway config folder: no "Jupyter news?" toast over the
# screenshots, and every cell attached to the page so outputs below the fold can be read.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

# Selectors measured on JupyterLab 4.6 with nbgrader 0.9.6 (see /work/shared/FACTS.md).
CELLS = ".jp-NotebookPanel .jp-Notebook .jp-Cell"
CODE_CELLS = ".jp-NotebookPanel .jp-Notebook .jp-CodeCell"
KERNEL_IDLE = ("[data-jp-item-name=executionProgress] "
               ".jp-Notebook-ExecutionIndicator[data-status=idle]")
RUN_ALL = "#jp-mainmenu-run .lm-Menu-item[data-command='runmenu:run-all']"
ERROR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
VALIDATE_BUTTON = "jp-button.validate-button"
VALIDATION_MESSAGE = ".jp-Dialog #validation-message"
DIALOG = ".jp-Dialog"
DIALOG_OK = ".jp-Dialog button.jp-mod-accept"


# --- the server ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_environment(home: Path) -> dict[str, str]:
    """The server's environment: venv first on PATH, Jupyter and Keras folders under ``home``."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    for name, folder in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                         ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"),
                         ("KERAS_HOME", "keras"), ("MPLCONFIGDIR", "matplotlib")]:
        env[name] = str(home / folder)
        (home / folder).mkdir(parents=True, exist_ok=True)
    env.update(TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0", GD_MNIST_OFFLINE="1")
    env.pop("GD_MNIST_PATH", None)
    return env


def write_lab_settings(config_dir: Path) -> None:
    for name, value in LAB_SETTINGS.items():
        path = config_dir / "lab" / "user-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value), encoding="utf-8")


def nbgrader_labextension(env: dict[str, str]) -> str:
    """The line of ``jupyter labextension list`` about nbgrader, as seen with ``env``."""
    proc = subprocess.run([str(VENV_BIN / "jupyter"), "labextension", "list"], env=env,
                          capture_output=True, text=True, timeout=120)
    output = proc.stdout + proc.stderr
    lines = [line.strip() for line in output.splitlines() if "@jupyter/nbgrader" in line]
    return lines[0] if lines else f"(no @jupyter/nbgrader in:)\n{output}"


def readme_disable_commands(readme: Path) -> list[list[str]]:
    """The ``jupyter ... disable`` command lines of a README, each split into its arguments."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    return [line.split() for line in lines if line.startswith("jupyter ") and " disable " in line]


def hide_instructor_extensions(readme: Path, env: dict[str, str]) -> list[str]:
    """Do what the student README's ``disable`` commands do, for the user folders in ``env``.

    The README disables at the level of the student's own venv (``sys_prefix``); here the venv is
    the project's, so the same names are written where those commands write at the user level
    (``labconfig/page_config.json``, ``jupyter_server_config.json`` in ``JUPYTER_CONFIG_DIR``, which
    Jupyter reads before the venv's). ``jupyter server extension disable --user`` itself refuses an
    extension enabled at another level. Returns the names disabled.
    """
    config = Path(env["JUPYTER_CONFIG_DIR"])
    plugins, servers = {}, {}
    for args in readme_disable_commands(readme):
        names = [a for a in args[2:] if not a.startswith("-") and a not in ("extension", "disable")]
        if args[1] == "labextension" and "--level=sys_prefix" in args:
            plugins.update(dict.fromkeys(names, True))
        elif args[1:4] == ["server", "extension", "disable"] and "--sys-prefix" in args:
            servers.update(dict.fromkeys(names, False))
        else:
            raise ValueError(f"{readme}: cannot apply {' '.join(args)!r}")
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": plugins}))
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": servers}}))
    return [*plugins, *servers]


@dataclass
class JupyterLab:
    """A running ``jupyter lab`` serving ``root``; ``stop()`` ends it and its kernels."""

    process: subprocess.Popen
    port: int
    token: str
    root: Path
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, notebook: str, workspace: str) -> str:
        """The notebook opened alone in its own workspace, so earlier tabs are not restored."""
        return f"{self.base_url}/lab/workspaces/{workspace}/tree/{notebook}?token={self.token}"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.base_url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_until_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.api("status")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.25)  # nothing to wait on but the socket: poll it
        raise TimeoutError(f"jupyter lab did not answer /api/status in {timeout} s:\n{self.log_tail()}")

    def kernels(self) -> list[dict]:
        return self.api("kernels")

    def wait_for_kernel(self, notebook: str, timeout: float = KERNEL_TIMEOUT_MS / 1000) -> None:
        """The notebook's kernel is idle and the page's websocket is connected to it.

        The page's own indicator says "idle" before any kernel exists, so it cannot tell.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            kernels = [s["kernel"] for s in self.api("sessions") if s["path"] == notebook]
            if any(k["execution_state"] == "idle" and k.get("connections", 0) >= 1 for k in kernels):
                return
            time.sleep(0.25)  # a REST poll: there is no event to wait on
        raise TimeoutError(f"no idle, connected kernel for {notebook} after {timeout} s:\n{self.log_tail()}")

    def shut_down_kernels(self) -> None:
        for kernel in self.kernels():
            self.api(f"kernels/{kernel['id']}", method="DELETE")

    def stop(self) -> None:
        """SIGTERM lets the server shut its kernels down; anything left of its group is killed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group started with the server
        except ProcessLookupError:
            pass  # the server and every kernel are gone already


def start_jupyter_lab(root: Path, home: Path, env: dict[str, str]) -> JupyterLab:
    """Start ``jupyter lab`` on a free port with a random token; the caller must ``stop()`` it."""
    write_lab_settings(Path(env["JUPYTER_CONFIG_DIR"]))
    port, token, log = free_port(), secrets.token_hex(16), home / "jupyter-lab.log"
    command = [str(VENV_BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", "--allow-root", f"--ServerApp.root_dir={root}"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    lab = JupyterLab(process, port, token, root, log)
    try:
        lab.wait_until_ready()
    except BaseException:
        lab.stop()
        raise
    return lab


# --- what the student does in the browser -------------------------------------------------------

def open_notebook(page: Page, lab: JupyterLab, notebook: str, workspace: str) -> None:
    page.goto(lab.url(notebook, workspace))
    page.locator(CELLS).first.wait_for(timeout=UI_TIMEOUT_MS)
    lab.wait_for_kernel(notebook)
    page.locator(KERNEL_IDLE).wait_for(timeout=KERNEL_TIMEOUT_MS)


def run_all(page: Page) -> None:
    """Run > Run All Cells, as a student would, then wait until the kernel has finished."""
    page.locator("#jp-MainMenu").get_by_role("menuitem", name="Run", exact=True).click()
    page.locator(RUN_ALL).click()
    wait_until_run_finished(page)


def prompts(page: Page) -> list[str]:
    """The input prompt of every code cell: '[3]:' once run, '[*]:' while queued, '[ ]:' never."""
    return [text.strip() for text in page.locator(f"{CODE_CELLS} .jp-InputPrompt").all_text_contents()]


def wait_until_run_finished(page: Page) -> None:
    """The first code cell has run, no cell is queued, and the kernel indicator says idle."""
    page.wait_for_function(
        """([cells, idle]) => {
            const prompts = [...document.querySelectorAll(cells + ' .jp-InputPrompt')]
                .map(p => p.textContent.trim());
            return prompts.length > 0 && /^\\[\\d+\\]:$/.test(prompts[0])
                && !prompts.some(p => p.includes('*')) && document.querySelector(idle) !== null;
        }""",
        arg=[CODE_CELLS, KERNEL_IDLE], timeout=KERNEL_TIMEOUT_MS)


def prompt_of(cell: Locator) -> str:
    return cell.locator(".jp-InputPrompt").inner_text().strip()


def cell_with(page: Page, text: str) -> Locator:
    """The code cell whose source contains ``text`` (one of the notebook's locked cells)."""
    return page.locator(CODE_CELLS).filter(has=page.locator(".jp-InputArea", has_text=text))


def outputs_of(cell: Locator) -> str:
    return "\n".join(cell.locator(".jp-OutputArea-output").all_text_contents())


def error_outputs(page: Page) -> list[str]:
    return page.locator(f"{CODE_CELLS} {ERROR_OUTPUT}").all_text_contents()


def open_dialogs(page: Page) -> list[str]:
    """Text of any dialog on screen, e.g. 'Kernel Restarting' after the kernel died."""
    return page.locator(DIALOG).all_text_contents()


def validate(page: Page) -> tuple[str, str]:
    """Click nbgrader's Validate button; return the result's class and text, and close it.

    The server runs the whole notebook again in a fresh kernel before it answers.
    """
    page.locator(VALIDATE_BUTTON).click()
    message = page.locator(VALIDATION_MESSAGE)
    message.wait_for(timeout=KERNEL_TIMEOUT_MS)
    return message.get_attribute("class") or "", message.inner_text()


def close_dialog(page: Page) -> None:
    page.locator(DIALOG_OK).click()
    page.locator(DIALOG).wait_for(state="detached", timeout=UI_TIMEOUT_MS)


@contextmanager
def evidence_on_failure(page: Page, lab: JupyterLab | None, folder: Path) -> Iterator[None]:
    """On any failure, keep what the browser showed and the server's log in ``folder``."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        yield
    except BaseException:
        folder.mkdir(parents=True, exist_ok=True)
        if lab is not None and lab.log.exists():
            shutil.copyfile(lab.log, folder / "failure-jupyter-lab.log")
        try:
            page.screenshot(path=str(folder / "failure.png"))
        except PlaywrightError as error:  # the page may be gone: keep the original failure
            print(f"no failure screenshot: {error}")
        raise


def screenshot(page: Page, path: Path, show: Locator | None = None) -> None:
    """Save what the student sees, scrolled to ``show`` if given."""
    if show is not None:
        show.scroll_into_view_if_needed()
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))


# --- what a page of student output did ----------------------------------------------------------

class Recorder:
    """An HTTP server on loopback that serves ``folder`` and records every request (method, path)."""

    def __init__(self, folder: Path):
        from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

        requests = self.requests = []

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(folder), **kwargs)

            def do_GET(self):
                requests.append(("GET", self.path))
                super().do_GET()

            def do_PUT(self):
                requests.append((self.command, self.path))
                self.send_response(204)
                self.end_headers()

            do_POST = do_PUT

            def log_message(self, *args):
                pass  # the test reads ``requests``

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def offline(page: Page) -> None:
    """Requests of ``page`` to anywhere but this machine fail at once (the tests run offline)."""
    from urllib.parse import urlparse

    def route(r):
        local = urlparse(r.request.url).hostname in ("127.0.0.1", "localhost")
        return r.continue_() if local else r.abort()

    page.route("**/*", route)


def marks_in_page(page: Page) -> set[str]:
    """What scripts of the page wrote in ``window.__pwned`` and the title (``pwned:<name>``)."""
    marks = page.evaluate("() => { try { return window.top.__pwned || []; } catch (e) { return []; } }")
    title = page.title()
    return set(marks) | ({title.split(":", 1)[1]} if title.startswith("pwned:") else set())


def run_as_page_script(page: Page, source: str) -> None:
    """Run ``source`` as one of the page's own scripts would run (global scope, not strict)."""
    page.evaluate("(source) => { (0, eval)(source); }", source)


def wait_for(page: Page, condition, timeout: float = 10) -> bool:
    """Poll ``condition()`` (a server's log, a folder: no event to wait on) until true or ``timeout``,
    waiting in ``page`` meanwhile: its requests go on only while Playwright runs (``offline`` routes them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        page.wait_for_timeout(100)
    return bool(condition())
