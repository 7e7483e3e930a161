"""Every limit of a grading run, in one place (both front ends read them from here): constants of
the grading contract, each documented by its ``#:`` comment (the configuration reference lists them).
The settings an environment variable changes are in ``autograde.settings``.
"""

from __future__ import annotations

#: Seconds a cell (a student's cell, or one probe of a check) may run before it is interrupted.
CELL_TIMEOUT = 300
#: Seconds a whole notebook may run at most (its limit follows the solution's time, below); then
#: its kernel is killed and unfinished checks score 0.
NOTEBOOK_TIMEOUT = 900
#: A notebook's own time limit follows its solution's: this many times the solution's run time on
#: the grading machine (``reference_run.solution_seconds``), at least ``NOTEBOOK_TIME_FLOOR`` s and at
#: most the notebook timeout: an honest submission on a slow machine stays far below it, a
#: hostile one costs minutes, not ``NOTEBOOK_TIMEOUT``.
NOTEBOOK_TIME_MULTIPLE = 10
NOTEBOOK_TIME_FLOOR = 180
#: Seconds all the notebooks of one submission may take together (``autograde.grading.budget``): a
#: submission usually takes 15-90 s, Gradescope stops a run at the timeout set there (50 minutes).
SUBMISSION_TIMEOUT = 1200
#: Address-space limit of a grading kernel, MiB (TensorFlow needs about 2 GiB to start).
MEMORY_MB = 4096
#: Memory one grading job needs on top of what is in use, MiB: a TensorFlow kernel's peak
#: (0.5-0.95 GiB on the three notebooks, reported per notebook as ``peak_memory_mb``) and the
#: grader's share. Bounds the default number of jobs (``autograde.kernel.resources.default_jobs``).
JOB_MEMORY_MB = 1536
#: Memory the grading of one submission may use beyond its kernels' own limits, MiB: the grader
#: process (about 150 MiB) and what it reads from the kernels (``autograde.frontends.pytest.grader_process``).
GRADER_MEMORY_MB = 1024
#: Largest file a grading kernel may write, MiB (RLIMIT_FSIZE: a bigger write fails with EFBIG).
FILE_MB = 256
#: Tasks (processes and threads) a grading kernel may have at once (RLIMIT_NPROC of its own
#: user; a TensorFlow kernel uses about 20 on 2 cores).
PROCESSES = 512
#: Size of each in-memory filesystem of the sandbox (its /tmp and the masks over hidden folders).
TMPFS_BYTES = 256 * 2**20
#: Most a kernel's folders on the host (its working copy, HOME, sockets and probe exchanges) may
#: hold, in bytes of disk used and in entries; past either the kernel is stopped. Checked every
#: ``DISK_CHECK_SECONDS`` (single files are capped by ``FILE_MB``).
DISK_BYTES = 512 * 2**20
DISK_ENTRIES = 10_000
DISK_CHECK_SECONDS = 0.5
#: Most a kernel's private copy of its working folder may hold (files beyond are not copied).
WORK_MAX_BYTES = 200 * 2**20
#: Output a cell (or a probe) may show, and a whole notebook, in bytes; beyond, output is dropped
#: with one line saying so (errors are always kept).
CELL_OUTPUT_BYTES = 200_000
NOTEBOOK_OUTPUT_BYTES = 2_000_000
#: Largest submitted notebook read, bytes (a solution with its plots is about 0.3 MB): a bigger one
#: is refused before it is parsed (``autograde.assignment.submission.why_not_read``).
NOTEBOOK_MAX_BYTES = 16 * 2**20
#: Most JSON objects and lists (``{`` and ``[``) a submitted notebook may hold, so that parsing it
#: builds a bounded number of objects (a solution holds about 130; a notebook of 360,000 empty
#: cells under the byte limit took 0.5 GB to parse and 1.5 GB to write).
NOTEBOOK_MAX_ITEMS = 100_000

def submission_seed(sources: list[str], seed: int) -> int:
    """The seed of a notebook's hidden inputs: the grading ``seed`` (``settings.seed``) mixed with the student's code
    (``sources``: the notebook's code cells, in any order), so that a changed submission meets new
    inputs and what one grading's messages reveal is no answer to the next; the same notebook
    always meets the same ones."""
    import hashlib

    digest = hashlib.sha256(str(seed).encode())
    for source in sorted(s.strip() for s in sources):
        digest.update(hashlib.sha256(source.encode("utf-8", "replace")).digest())
    return int.from_bytes(digest.digest()[:4], "big") % 2**31


def notebook_limit(solution_seconds: float | None, cap: int) -> tuple[int, str]:
    """A notebook's time limit, seconds, and how it was set, from its solution's run time on this
    machine (None: not known) and the notebook timeout ``cap``."""
    if solution_seconds is None:
        return cap, f"{cap} s"
    limit = min(cap, max(NOTEBOOK_TIME_FLOOR, round(NOTEBOOK_TIME_MULTIPLE * solution_seconds)))
    if limit == cap:
        return cap, f"{cap} s"
    return limit, (f"{limit} s ({NOTEBOOK_TIME_MULTIPLE} times the solution's {solution_seconds:.1f} s on this "
                   f"machine, at least {NOTEBOOK_TIME_FLOOR} s)")


def documented() -> list[tuple[str, object, str]]:
    """Each limit with its value and its ``#:`` comment, in the order of this file (a limit right
    below another shares its comment)."""
    import ast
    import inspect
    import sys

    module = sys.modules[__name__]
    source = inspect.getsource(module)
    lines = source.splitlines()
    found, doc, last = [], "", -1
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id.isupper()):
            continue
        comment, n = [], node.lineno - 2
        while n >= 0 and lines[n].startswith("#:"):
            comment.insert(0, lines[n][2:].strip())
            n -= 1
        if comment:
            doc = " ".join(comment)
        elif node.lineno - 1 != last:
            doc = ""
        last = node.end_lineno
        if doc:
            found.append((node.targets[0].id, getattr(module, node.targets[0].id), doc))
    return found
