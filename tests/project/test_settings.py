"""The engine's settings: declared once, read once from the environment, handed on as one object;
the configuration reference is generated from the declarations; the private jupyter API the
graders rely on is listed in one place and still there."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from autograde import settings
from autograde.kernel import contract, jupyter_private

ROOT = Path(__file__).resolve().parents[2]


def test_every_field_of_the_settings_object_is_declared_once_with_its_help():
    fields = {f.name for f in dataclasses.fields(settings.GradingSettings)} - {"view"}
    declared = [s.name for s in settings.SETTINGS]
    assert sorted(declared) == sorted(fields)
    assert len(set(declared)) == len(declared)
    assert all(s.help and s.env.startswith(settings.ENV_PREFIX) for s in settings.SETTINGS)


def test_the_environment_read_and_written_back_gives_the_same_settings(tmp_path):
    given = settings.GradingSettings(seed=7, cache=tmp_path, course=tmp_path / "course",
                                     hide=(tmp_path / "a", tmp_path / "b"), allow_unsandboxed=True,
                                     kernel_uid="root", kernel_threads=3, fork_kernels=False,
                                     exchange=tmp_path / "x", exercises=("one.ex", "two.ex"))
    assert settings.GradingSettings.from_env(given.to_env()) == given
    # a child handed the defaults gets the defaults, whatever its parent's environment said
    assert settings.GradingSettings.from_env(settings.GradingSettings().to_env()) == settings.GradingSettings()


def test_a_configured_setting_reaches_the_kernel_layer_without_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("GD_GRADING_HIDE", raising=False)
    with settings.use(hide=(tmp_path / "secret",), course=tmp_path):
        hidden = contract.hidden_paths()
    assert tmp_path / "secret" in hidden
    assert tmp_path / "gradebook.db" in hidden
    assert tmp_path / "secret" not in contract.hidden_paths()


def test_the_kernel_layer_refuses_to_start_a_kernel_without_the_courses_view():
    code = ("from autograde.kernel import contract\n"
            "try:\n    contract.hidden_paths()\nexcept RuntimeError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "no course view" in out.stdout and "Fix:" in out.stdout, out.stdout + out.stderr


def test_the_courses_hidden_data_is_hidden_from_every_kernel():
    from autograde.assignment import registry

    view = registry.course_view()
    hidden = contract.hidden_paths()
    assert contract.GRADERS in hidden and registry.ROOT in hidden
    assert set(view.hidden) <= set(hidden)


WRITERS_OF_THEIR_OWN_ENVIRONMENT = {
    "autograde/kernel/limited.py",          # the kernel program, inside the sandbox
    "autograde/kernel/forked/server.py",    # the zygote, giving a forked kernel its environment
    "autograde/exercises/linear_system/calibration.py",  # a command: TensorFlow's log level
}


def test_no_module_of_the_graders_talks_to_another_through_the_environment():
    writes = []
    for path in sorted((ROOT / "autograde").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            target = None
            if isinstance(node, (ast.Assign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                target = next((t for t in targets if isinstance(t, ast.Subscript)
                               and ast.unparse(t.value) == "os.environ"), None)
            elif isinstance(node, ast.Call) and ast.unparse(node.func) in (
                    "os.environ.setdefault", "os.environ.update", "os.environ.pop", "os.putenv"):
                target = node
            if target is not None and rel not in WRITERS_OF_THEIR_OWN_ENVIRONMENT:
                writes.append(f"{rel}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert not writes, "\n".join(writes)


def test_the_configuration_reference_is_generated_from_the_declarations():
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "configuration_reference.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for s in settings.SETTINGS:
        assert f"`{s.env}`" in text


def test_every_private_jupyter_name_the_graders_rely_on_still_exists():
    assert jupyter_private.missing() == []
    jupyter_private.check()


def test_a_jupyter_client_outside_the_tested_range_is_refused_naming_the_fix(monkeypatch):
    monkeypatch.setattr(jupyter_private, "_version", lambda package: (9, 1) if package == "jupyter_client" else (0, 10))
    with pytest.raises(RuntimeError, match=r"jupyter_client .* Fix: pip install 'jupyter_client>=8.0,<9.0'"):
        jupyter_private.check()


def test_the_private_names_the_graders_use_are_all_listed():
    listed = {name for _, _, name, _ in jupyter_private.PRIVATE}
    used = set()
    for path in sorted((ROOT / "autograde").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.AsyncFunctionDef) and node.name.startswith("_async_"):
                used.add(node.name)
            if isinstance(node, ast.Attribute) and node.attr.startswith("_async_"):
                used.add(node.attr)
    used.add("_close_control_socket")
    assert used <= listed, sorted(used - listed)


def test_a_front_ends_setting_leaves_the_others_to_the_environment(monkeypatch):
    monkeypatch.delenv("GD_GRADING_KERNEL_UID", raising=False)
    with settings.use(allow_unsandboxed=True):
        monkeypatch.setenv("GD_GRADING_KERNEL_UID", "root")
        now = settings.current()
        assert now.kernel_uid == "root" and now.allow_unsandboxed
    assert not settings.current().allow_unsandboxed
    with pytest.raises(TypeError, match="not a grading setting: kernel_user"):
        settings.configure(kernel_user="root")
