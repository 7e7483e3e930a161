"""What a test needs of this machine, and what happens where it is missing: the one place.

A test says what it needs with a marker (declared, with its help, in pyproject.toml);
``tests/conftest.py`` calls ``check(item)`` before each test's fixtures are set up:

- ``root``: skips unless the grader runs as root (kernels' own uids, forks from a zygote).
  ``@pytest.mark.root(reason="...")`` says what root is needed for; it is the skip's reason.
- ``cgroups``: skips where the host gives the grader no cgroup to make, unless GD_REQUIRE_SANDBOX
  is set (to any value).
- ``sandbox``: skips where bubblewrap cannot sandbox a kernel (with ``probe()``'s reason), and
  fails instead under ``GD_REQUIRE_SANDBOX=1`` (CI).
- ``registry``: skips where pip cannot reach its package registry, fails under
  ``GD_REQUIRE_REGISTRY=1`` (CI).
- ``gradescope``: skips without mmdebstrap or bubblewrap, fails under
  ``GD_REQUIRE_GRADESCOPE_HARNESS=1``.
- ``browser``: never skips: fails, with the install hint, where Chromium or Playwright is missing.
- ``slow``: needs nothing of the machine, only minutes; for choosing (``-m "not slow"``).

They are checked in that order (a test that needs root and bubblewrap skips for want of root
first). The narrower conditions below are ``skipif`` marks, used as decorators.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

import pytest

from autograde.kernel import cgroup

#: The variables that turn a missing requirement from a skip into a failure (docs/configuration.md).
REQUIRE_SANDBOX = "GD_REQUIRE_SANDBOX"
REQUIRE_REGISTRY = "GD_REQUIRE_REGISTRY"
REQUIRE_GRADESCOPE_HARNESS = "GD_REQUIRE_GRADESCOPE_HARNESS"

#: Debian's fonts-wqy-zenhei, the CJK font of the plots' labels.
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")

# Narrower conditions (machine, packages, host), evaluated when a test module imports this one.
X86_64 = pytest.mark.skipif(os.uname().machine != "x86_64", reason="the syscall numbers of x86_64")
SYSCALL_NUMBERS = pytest.mark.skipif(os.uname().machine not in ("x86_64", "aarch64"),
                                     reason="the exit(2) number of x86_64 or aarch64")
SETPRIV = pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) is not installed")
FONT_WQY = pytest.mark.skipif(not WQY.exists(), reason="needs Debian's fonts-wqy-zenhei (.ci/run installs it)")


def _required(variable: str) -> bool:
    return os.environ.get(variable) == "1"


def is_root() -> bool:
    return os.geteuid() == 0


@functools.cache
def cgroups_here() -> bool:
    """The grader can make a cgroup of its own here (one is made and ended to find out)."""
    probe = cgroup.Cgroup.make("gds-probe", 64, None)
    if probe is None:
        return False
    probe.end()
    return True


CGROUP_PARENT = pytest.mark.skipif(cgroup._parents() is None, reason="the host gives the grader no cgroup to make")


@functools.cache
def registry_unreachable() -> str | None:
    """Why pip cannot reach its package registry, or None when it can (asked once per session)."""
    from packaging.requirements import Requirement

    from tests.project.test_install import pip_report

    probe = pip_report([Requirement("packaging")], [], "--no-deps")
    if probe.returncode == 0:
        return None
    return ("the package registry pip is configured for (PyPI by default; see `pip config list`) "
            f"cannot be reached: {probe.stderr.strip()[-400:]}")


def need_sandbox() -> None:
    """Skip where bubblewrap cannot sandbox a kernel; fail instead under GD_REQUIRE_SANDBOX=1."""
    from autograde.kernel.sandbox import probe

    ok, reason = probe()
    if not ok:
        if _required(REQUIRE_SANDBOX):
            pytest.fail(f"{REQUIRE_SANDBOX}=1 but bubblewrap cannot sandbox a kernel here: {reason}", pytrace=False)
        pytest.skip(f"needs bubblewrap: {reason}")


def need_registry() -> None:
    """Skip where pip cannot reach its package registry; fail instead under GD_REQUIRE_REGISTRY=1."""
    why = registry_unreachable()
    if why:
        if _required(REQUIRE_REGISTRY):
            pytest.fail(f"{REQUIRE_REGISTRY}=1 but {why}", pytrace=False)
        pytest.skip(why)


def need_gradescope_harness() -> None:
    """Skip without mmdebstrap or bubblewrap; fail instead under GD_REQUIRE_GRADESCOPE_HARNESS=1."""
    from tests import gradescope_harness

    missing = gradescope_harness.tools_missing()
    if missing:
        if _required(REQUIRE_GRADESCOPE_HARNESS):
            pytest.fail(f"missing {', '.join(missing)}")
        pytest.skip(f"missing {', '.join(missing)} (apt-get install mmdebstrap bubblewrap)")


def need_browser() -> None:
    """Fail (never skip) where Debian's Chromium or Playwright is missing, with the install hint."""
    from tests import browser as lab_ui

    if not lab_ui.CHROMIUM.exists():
        pytest.fail(f"{lab_ui.CHROMIUM} is missing.\n{lab_ui.INSTALL_HINT}", pytrace=False)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail(f"Playwright is not installed.\n{lab_ui.INSTALL_HINT}", pytrace=False)


def check(item: pytest.Item) -> None:
    """Skip or fail ``item`` for what its markers say it needs and this machine lacks."""
    root = item.get_closest_marker("root")
    if root is not None and not is_root():
        pytest.skip(root.kwargs.get("reason", "needs a root grader"))
    if item.get_closest_marker("cgroups") is not None and not cgroups_here() and not os.environ.get(REQUIRE_SANDBOX):
        pytest.skip("the host gives the grader no cgroup to make")
    if item.get_closest_marker("sandbox") is not None:
        need_sandbox()
    if item.get_closest_marker("registry") is not None:
        need_registry()
    if item.get_closest_marker("gradescope") is not None:
        need_gradescope_harness()
    if item.get_closest_marker("browser") is not None:
        need_browser()
