"""The graders' layers, from their import statements: each layer imports only the layers below it,
and no module imports itself back through others (no import circle, lazy imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "autograde"

#: Layer of each part of ``autograde``, lowest first. A module may import its own layer and those of
#: a lower rank; the kernel and the assignment share a rank and never import each other.
LAYERS = {
    "base": (0, ("autograde", "autograde.limits", "autograde.settings")),
    "kernel": (1, ("autograde.kernel",)),
    "assignment": (1, ("autograde.assignment", "autograde.exercises")),
    "grading": (2, ("autograde.grading",)),
    "reports": (3, ("autograde.reports",)),
    "frontends": (4, ("autograde.frontends", "autograde.conftest", "autograde.test_checks")),
    "classroom": (5, ("autograde.classroom",)),
    "demo": (6, ("autograde.demo",)),
}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "course" in path.relative_to(PACKAGE).parts[:1]:
            continue  # an installed package's copy of the course, not the graders
        parts = ("autograde", *path.relative_to(PACKAGE).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def layer_of(module: str) -> str:
    best = max(((name, p) for name, (_, prefixes) in LAYERS.items() for p in prefixes
                if module == p or module.startswith(p + ".")), key=lambda item: len(item[1]), default=None)
    if best is None:
        raise AssertionError(f"{module}: in no layer. Fix: put it in one of the folders of LAYERS")
    return best[0]


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The graders' modules that ``module`` imports, at any depth of its code."""
    out = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for a in node.names:
                out.add(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base)
    return {m for m in out if m in known and m != module}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    found = modules()
    return {m: imports(m, p, set(found)) for m, p in found.items()}


def test_every_module_of_the_graders_is_in_a_layer(graph):
    for module in graph:
        layer_of(module)


def test_each_layer_imports_only_the_layers_below_it(graph):
    upward = []
    for module, deps in graph.items():
        mine = layer_of(module)
        for dep in deps:
            theirs = layer_of(dep)
            if theirs != mine and LAYERS[theirs][0] >= LAYERS[mine][0]:
                upward.append(f"{module} ({mine}) imports {dep} ({theirs})")
    assert not upward, "imports against the layers:\n" + "\n".join(sorted(upward))


def test_no_module_imports_itself_back_through_others(graph):
    # Tarjan's strongly connected components: a circle is one of more than one module
    index, low, stack, on, circles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not circles, "import circles: " + "; ".join(" ↔ ".join(c) for c in circles)


def test_the_kernel_layer_imports_no_exercise(graph):
    kernel = [m for m in graph if layer_of(m) == "kernel"]
    assert kernel
    for module in kernel:
        assert not {d for d in graph[module] if layer_of(d) == "assignment"}, module


def test_every_folder_of_the_graders_is_a_package_a_wheel_carries():
    folders = {p.parent for p in PACKAGE.rglob("*.py") if "course" not in p.relative_to(PACKAGE).parts[:1]}
    assert not sorted(str(f) for f in folders if not (f / "__init__.py").is_file())
