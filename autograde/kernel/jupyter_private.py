"""The private parts of jupyter_client and nbclient the graders rely on, in one list, checked
against the installed versions when the kernel layer is imported.

The graders override or call these names (each entry says where and why). They are not public
API: a release may rename them. ``pyproject.toml`` bounds both packages below their next major
version; ``check()`` refuses a version outside the tested range, and ``tests/project/test_settings.py``
proves that every listed name still exists on the installed classes.
"""

from __future__ import annotations

import importlib.metadata

#: package: (lowest tested version, first version not allowed)
TESTED = {"jupyter_client": ((8, 0), (9, 0)), "nbclient": ((0, 10), (1, 0))}

#: (module, class, private name, where we use it and why)
PRIVATE = (
    ("jupyter_client.manager", "AsyncKernelManager", "_async_pre_start_kernel",
     "kernel/manager.py overrides it: the kernel's sandbox, user, private folder and cgroup are made "
     "before its command is built"),
    ("jupyter_client.manager", "AsyncKernelManager", "_async_cleanup_resources",
     "kernel/manager.py overrides it: the kernel's scratch folder, cgroup and user are released"),
    ("jupyter_client.manager", "AsyncKernelManager", "_async_wait",
     "kernel/manager.py overrides it: a killed kernel is polled every WAIT_POLL s, not 0.1 s"),
    ("jupyter_client.manager", "AsyncKernelManager", "_close_control_socket",
     "grading/session.py and kernel/pool.py call it (close_control_socket): the control socket is made "
     "in the thread that uses it"),
    ("jupyter_client.asynchronous.client", "AsyncKernelClient", "_async_wait_for_ready",
     "kernel/client.py overrides it: a kernel that dies while starting is noticed at once"),
    ("jupyter_client.asynchronous.client", "AsyncKernelClient", "_async_is_alive",
     "kernel/client.py calls it while it waits for the kernel"),
    ("nbclient.client", "NotebookClient", "_async_cleanup_kernel",
     "grading/session.py overrides it: the kernel's peak memory is read before it is stopped"),
)


def _version(package: str) -> tuple[int, ...]:
    text = importlib.metadata.version(package)
    return tuple(int(p) for p in text.split(".")[:2] if p.isdigit())


def check() -> None:
    """Raise, naming the fix, when jupyter_client or nbclient is outside the tested range."""
    for package, (low, high) in TESTED.items():
        have = _version(package)
        if not low <= have < high:
            raise RuntimeError(
                f"{package} {importlib.metadata.version(package)} is installed; the graders override its "
                f"private API (autograde/kernel/jupyter_private.py) and are tested with "
                f"{'.'.join(map(str, low))} <= version < {'.'.join(map(str, high))}. "
                f"Fix: pip install '{package}>={'.'.join(map(str, low))},<{'.'.join(map(str, high))}'")


def missing() -> list[str]:
    """The listed private names the installed packages no longer have."""
    gone = []
    for module, cls, name, _ in PRIVATE:
        owner = getattr(importlib.import_module(module), cls)
        if not hasattr(owner, name):
            gone.append(f"{module}.{cls}.{name}")
    return gone


def close_control_socket(km) -> None:
    """Close ``km``'s control socket (jupyter_client's own; see ``PRIVATE``)."""
    km._close_control_socket()


check()
