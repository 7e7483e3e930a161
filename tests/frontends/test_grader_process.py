"""One submission's grader process: a memory ceiling of its own, bounded output, nothing left behind.

No notebook is executed: the commands stand for a grader that misbehaves.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from autograde.classroom import classgrade
from autograde.frontends.pytest import grader_process
from tests import requirements
from tests.examples import example, path_of


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


@pytest.mark.cgroups
def test_a_grader_past_its_memory_ceiling_is_reported_as_killed_by_the_oom_killer(tmp_path):
    grow = python("""
        blocks = [bytearray(8 * 2**20) for _ in range(50)]  # 400 MiB, touched
    """)
    ended = grader_process.run(grow, cwd=tmp_path, env=dict(os.environ), timeout=60, memory_mb=100)
    assert ended.why is not None and "memory ceiling of 100 MiB" in ended.why and "OOM killer" in ended.why
    assert ended.survivors == []


@pytest.mark.cgroups
def test_a_grader_that_ends_by_itself_is_not_called_killed(tmp_path):
    ended = grader_process.run(python("print('graded')"), cwd=tmp_path, env=dict(os.environ), timeout=60,
                               memory_mb=200)
    assert (ended.returncode, ended.why, ended.tail.strip()) == (0, None, "graded")


def test_only_the_end_of_what_a_grader_prints_is_read_back(tmp_path):
    flood = python("""
        import sys
        for i in range(200_000):
            sys.stdout.write("x" * 99 + "\\n")
        print("the last line")
    """)
    ended = grader_process.run(flood, cwd=tmp_path, env=dict(os.environ), timeout=60, memory_mb=200)
    assert len(ended.tail.encode()) <= grader_process.TAIL_BYTES
    assert ended.tail.rstrip().endswith("the last line")


def test_a_grader_past_its_time_is_stopped_with_what_it_left_running(tmp_path):
    pidfile = tmp_path / "child.pid"
    stall = python(f"""
        import subprocess, time
        child = subprocess.Popen(["sleep", "600"], start_new_session=True)  # not in the grader's group
        open({str(pidfile)!r}, "w").write(str(child.pid))
        time.sleep(600)
    """)
    ended = grader_process.run(stall, cwd=tmp_path, env=dict(os.environ), timeout=3, memory_mb=200)
    assert ended.why == "the grader passed its time limit of 3 s and was stopped"
    child = int(pidfile.read_text())
    if requirements.cgroups_here():  # without a cgroup, a child in a session of its own is out of reach
        assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]


@pytest.mark.cgroups
def test_the_class_grader_names_the_student_whose_grading_ran_out_of_memory(tmp_path):
    notebook = path_of(example("01_linear_system", "untouched"))
    student = classgrade.Student("ada", [notebook])
    summary = classgrade.grade_student(student, tmp_path, 30, 60, ceiling_mb=40)
    assert summary["student"] == "ada" and summary["status"] == "not graded"
    assert "memory ceiling of 40 MiB" in summary["error"] and "OOM killer" in summary["error"]
    written = (tmp_path / "students" / "ada" / "summary.json").read_text(encoding="utf-8")
    assert "OOM killer" in written


def test_a_grader_ends_with_the_class_grader_that_started_it(tmp_path):
    import signal
    import subprocess
    import time

    pidfile = tmp_path / "grader.pid"
    class_grader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(grader_process.__file__).parents[3])!r})
        from autograde.frontends.pytest import grader_process
        grader_process.run([sys.executable, "-c",
                            "import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(600)"],
                           cwd={str(tmp_path)!r}, env=dict(os.environ), timeout=600, memory_mb=200)
    """)])
    for _ in range(200):
        if pidfile.exists() and pidfile.read_text():
            break
        time.sleep(0.05)
    grader = int(pidfile.read_text())
    class_grader.send_signal(signal.SIGKILL)  # no cleanup of its own
    class_grader.wait()
    for _ in range(100):
        if not Path(f"/proc/{grader}").exists() or "Z" in Path(f"/proc/{grader}/stat").read_text().split()[2]:
            break
        time.sleep(0.05)
    else:
        os.kill(grader, signal.SIGKILL)
        raise AssertionError("the grader outlived the class grader")
