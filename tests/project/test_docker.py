"""The grading image and its Kubernetes Jobs: lint-clean, pinned, sandbox-able, and the shards cover a class.

Containers cannot run where these tests run: the image is linted (hadolint) and read, never built.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from autograde.classroom import classgrade, cli
from tests.project.test_install import chosen, environment, project_requirements

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
CONSTRAINTS = ROOT / "docker" / "constraints.txt"
MANIFESTS = [ROOT / "docker" / "k8s-grade-job.yaml", ROOT / "docker" / "k8s-merge-job.yaml"]
BIN = Path(sys.executable).parent  # dev tools installed beside this Python by `make setup`


def tool(name: str) -> str:
    if not (BIN / name).exists():
        pytest.fail(f"{name} is missing: run `make setup` (it is a dev dependency)")
    return str(BIN / name)


def instructions(stage: str | None = None) -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined; one stage if named."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out, current = [], None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        word, _, rest = line.strip().partition(" ")
        if word.upper() == "FROM":
            current = rest.split(" AS ")[-1].strip() if " AS " in rest else None
        if stage is None or current == stage:
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_passes_hadolint():
    proc = subprocess.run([tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_image_pins_its_base_and_bubblewrap_and_runs_gdgrade_as_a_non_root_user():
    steps = instructions()
    base = next(a for i, a in steps if i == "ARG" and a.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.\d+\.\d+-slim-\w+", base), base
    run = " ".join(a for i, a in steps if i == "RUN")
    assert re.search(r"bubblewrap=\S+", run) and "--constraint constraints.txt -e ." in run
    grader = instructions("grader")
    assert ("ENTRYPOINT", '["gdgrade"]') in grader
    users = [a for i, a in instructions("course") if i == "USER"]
    assert users[-1] == "10001" and "useradd --create-home --uid 10001" in run
    assert [a for i, a in instructions("hub") if i == "USER"][-1] == "10001"


def test_everything_the_image_copies_is_in_the_build_context():
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = {ln[1:].rstrip("/") for ln in ignore if ln.startswith("!")}
    for instruction, args in instructions():
        if instruction == "COPY":
            for source in args.split()[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: no such file"
                assert source.rstrip("/") in allowed, f"COPY {source}: excluded by .dockerignore"


def test_image_constraints_pin_every_requirement_it_installs():
    pins = {canonicalize_name(Requirement(ln).name): Requirement(ln) for ln in
            CONSTRAINTS.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")}
    for req in chosen(project_requirements(), environment("linux-x86_64", "3.11")):
        pin = pins.get(canonicalize_name(req.name))
        assert pin is not None, f"{CONSTRAINTS} does not pin {req.name}: run `make docker-constraints`"
        version = str(pin.specifier).removeprefix("==")
        assert req.specifier.contains(version), f"{pin} does not meet {req}: run `make docker-constraints`"


def test_kubernetes_manifests_match_the_kubernetes_schema():
    proc = subprocess.run([tool("kubernetes-validate"), "--strict", *map(str, MANIFESTS)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def grading_job() -> tuple[dict, dict]:
    docs = {d["kind"]: d for d in yaml.safe_load_all(MANIFESTS[0].read_text(encoding="utf-8"))}
    return docs["Job"], docs["NetworkPolicy"]


def test_indexed_job_runs_sandboxable_pods_without_network():
    job, policy = grading_job()
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert job["spec"]["completionMode"] == "Indexed"
    assert pod["hostUsers"] is False and container["securityContext"]["procMount"] == "Unmasked"
    assert pod["securityContext"]["seccompProfile"]["type"] == "Unconfined"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
    assert "--allow-unsandboxed" not in container["args"] and container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert sorted(policy["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in policy["spec"] and "egress" not in policy["spec"], "no traffic is allowed"


def test_every_completion_index_grades_its_own_shard_and_together_they_cover_the_class():
    job, _ = grading_job()
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["SHARD"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.annotations['batch.kubernetes.io/job-completion-index']")
    n = job["spec"]["completions"]
    assert job["spec"]["parallelism"] == n
    students = [classgrade.Student(f"s{k:02}") for k in range(11)]
    graded, outs = [], set()
    for index in range(n):
        argv = [a.replace("$(SHARD)", str(index)) for a in container["args"]]
        args = cli.parser().parse_args(argv)
        assert args.func is classgrade.grade and args.submissions == Path("/submissions")
        outs.add(args.out)
        graded += [s.name for s in classgrade.shard(students, args.shard, args.shard_base)]
    assert sorted(graded) == [s.name for s in students], "each student in exactly one shard"
    assert len(outs) == n, "each shard writes its own results folder"
    merge = yaml.safe_load(MANIFESTS[1].read_text(encoding="utf-8"))["spec"]["template"]["spec"]["containers"][0]
    assert "gdgrade merge /results/shard-* --out" in " ".join(merge["command"])
