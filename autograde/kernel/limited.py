"""Start an IPython kernel under an address-space limit.

    python limited.py --memory-mb 4096 -f CONNECTION_FILE

The memory limit (RLIMIT_AS, in MiB) makes a runaway allocation raise ``MemoryError`` inside
the student's code instead of exhausting the machine; the file-size limit (RLIMIT_FSIZE, MiB,
``--file-mb``) makes a write past it fail with ``OSError: File too large``; the task limit
(RLIMIT_NPROC, ``--processes``: processes and threads of the kernel's user) makes a fork or a
new thread past it fail with "Resource temporarily unavailable". TensorFlow needs about 2 GiB of
address space to start (limits: autograde/limits.py).
"""

from __future__ import annotations

import os
import resource
import runpy
import sys

#: option: (resource, environment variable telling the kernel, what it limits, unit in bytes)
LIMITS = {"--memory-mb": (resource.RLIMIT_AS, "GD_MEMORY_MB", "memory", 2**20),
          "--file-mb": (resource.RLIMIT_FSIZE, "GD_FILE_MB", "file-size", 2**20),
          "--processes": (resource.RLIMIT_NPROC, "GD_PROCESSES", "task", 1)}


def die_with_grader() -> None:
    """When the grader started this kernel itself (no sandbox: its parent is the grader, as
    ``JPY_PARENT_PID`` says), the kernel is killed when the grader ends (PR_SET_PDEATHSIG), or
    ends now if the grader is gone already. In a sandbox, bubblewrap's ``--die-with-parent``
    does this; a forked kernel ends with its zygote's pid namespace."""
    parent = os.environ.get("JPY_PARENT_PID", "")
    if not sys.platform.startswith("linux") or not parent.isdigit() or int(parent) <= 1:
        return
    if os.getppid() != int(parent):  # started by bwrap or forked by a zygote
        return
    import ctypes
    import signal

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != int(parent):  # the grader ended before the line above
        os._exit(1)


def main(argv: list[str]) -> None:
    die_with_grader()
    while argv[:1] and argv[0] in LIMITS:
        which, name, what, unit = LIMITS[argv[0]]
        limit = int(argv[1]) * unit
        try:
            resource.setrlimit(which, (limit, limit))
            os.environ[name] = argv[1]
        except (ValueError, OSError) as exc:  # e.g. macOS: grade without the limit, and say so
            print(f"gdgrade: {what} limit of {argv[1]} not applied: {exc}", file=sys.stderr)
        argv = argv[2:]
    # In a PID namespace (the sandbox) the grader's PID means nothing: the kernel would
    # think its parent had exited and shut down. PID 1 means "do not watch the parent"
    # (and no connection banner on the grader's terminal); the sandbox's --die-with-parent
    # ends the kernel with the grader instead.
    os.environ["JPY_PARENT_PID"] = "1"
    sys.argv = ["ipykernel_launcher", *argv]
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
