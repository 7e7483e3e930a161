"""The isolation contract of grading kernels, in one place; ``tests/kernel/test_isolation.py`` tries each
clause from the student's side.

Where the grader is root and bubblewrap works (the pytest graders, the class grader and
``nbgrader autograde`` alike), whatever a submission's code does, ``CONTRACT`` lists each clause with the code that keeps it. What is not kept yet is said in
``NOT_YET`` (and in the isolation report's memory line, ``kernel.manager.memory_line``).
"""

from __future__ import annotations

#: (what holds, what keeps it)
CONTRACT = (
    ("no kernel makes a namespace (user, pid, network, mount, IPC, UTS, cgroup, time) or uses io_uring",
     "autograde/kernel/confine.py: a seccomp filter and a user namespace that holds none, for every sandbox"),
    ("kernels of different students never share a pid, network, IPC or mount namespace, /tmp or /dev/shm",
     "autograde/kernel/sandbox.py (a sandbox per cold kernel), autograde/kernel/forked/zygote.py (a zygote per submission, "
     "PerSubmission under nbgrader; each forked kernel's own mount and IPC namespaces, /tmp and /dev/shm)"),
    ("no loopback path between kernels of different students",
     "a network namespace per sandbox: per cold kernel, per submission's zygote"),
    ("a uid is never handed out while any task holds it, zombies included",
     "autograde/kernel/user.py: _next_uid"),
    ("when a notebook ends, every process it started is gone, and a survivor is killed and logged "
     "with the student's name",
     "the sandbox's pid namespace (cold), kernel_user.end_all in the zygote's (forked), "
     "GradingKernelManager._end_everything (the check)"),
    ("no kernel outlives its grader",
     "bubblewrap's --die-with-parent; limited.die_with_grader without a sandbox"),
    ("a kernel's memory is counted over all its processes and in-memory folders, its tasks capped, "
     "and all of it ended at once, where the host gives the grader cgroups",
     "autograde/kernel/cgroup.py, joined by autograde/kernel/confine.py (cold) or the grader (forked)"),
    ("the grading of one submission by the class grader or Gradescope's entry point (its grader and all "
     "its kernels) runs under a memory ceiling of its own; passing it costs that submission only, "
     "reported with the student's name",
     "autograde/frontends/pytest/grader_process.py"),
    ("no kernel holds a capability or can gain one",
     "bubblewrap's --cap-drop ALL, setpriv / server.become, no new privileges"),
)

#: What the contract does not cover yet.
NOT_YET = (
    "where the host gives the grader no cgroup, memory is not counted over all of a kernel's processes "
    "and in-memory folders: each process's address space, the task cap and each folder's size bound it",
    "forked kernels of one submission share its zygote's pid and network namespaces",
    "nbgrader grades a class in one process: its memory is bounded by what it reads from a kernel "
    "(autograde/assignment/returned.py, kernel.manager.bound_messages, the output and notebook size limits), "
    "with no ceiling per submission",
)
