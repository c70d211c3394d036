"""The package's import graph: no cycle, and the native backend imports nothing above it."""

import ast
import pathlib
import subprocess
import sys

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "chaosjax"


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: pathlib.Path) -> set[str]:
    """The chaosjax modules `path` imports, at module level or inside functions."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.startswith("chaosjax"):
                # `from . import x` names a submodule x; `from .m import f` names m.
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    out.add(
                        sub
                        if (SRC.parent / sub.replace(".", "/")).exists()
                        or (SRC.parent / (sub.replace(".", "/") + ".py")).exists()
                        else base
                    )
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("chaosjax")}
    out.discard(name)
    return out


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in SRC.rglob("*.py")}


def test_no_import_cycle_between_modules():
    graph = _graph()
    # A package's __init__ re-exporting its submodules is not a cycle of its own.
    edges = {
        m: {d for d in deps if not m.startswith(d + ".") and d in graph}
        for m, deps in graph.items()
    }
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for d in edges[m]:
            if state.get(d) == 1:
                pytest.fail("import cycle: " + " -> ".join(path[path.index(d) :] + [d]))
            if d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])


def test_native_imports_nothing_of_chaosjax_above_it():
    for m, deps in _graph().items():
        if m.startswith("chaosjax.native"):
            assert all(d.startswith("chaosjax.native") for d in deps), (m, deps)


@pytest.mark.parametrize(
    "module", ["chaosjax.native", "chaosjax.simulate", "chaosjax.lyapunov", "chaosjax.observables"]
)
def test_each_package_imports_on_its_own(module):
    out = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr


# The layers of DESIGN.md, lowest first. A module may import its own layer and those
# below it, never one above: foundations (argument checks, precision, files, progress
# bars, the native backend, sharding) serve every layer; the faces come last.
LAYERS = [
    {
        "_version",
        "_validate",
        "_results",
        "_config",
        "_progress",
        "_roots",
        "_files",
        "_sweep",
        "_remembered",
        "native",
        "parallel",
    },
    {"systems"},
    {"_provenance", "_iterate", "_divergence", "solvers"},
    {"discretize", "piecewise"},
    {"simulate", "observables"},
    {"lyapunov"},
    {"sensitivity"},
    {"bifurcation"},
    {"metrics"},
    {"learn"},
    {"io", "plot"},
    {"report"},
    {"cli", "demo", "__main__", "__init__"},
]


def _layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    for rank, layer in enumerate(LAYERS):
        if top in layer:
            return rank
    raise AssertionError(f"{module} is in no layer of LAYERS: add it where it belongs")


def test_imports_point_only_down_the_layers():
    upward = [
        (m, d)
        for m, deps in _graph().items()
        for d in deps
        # The faces (report, cli) may use the public `chaosjax` namespace itself.
        if _layer(d) > _layer(m) and not (d == "chaosjax" and _layer(m) >= _layer("x.report"))
    ]
    assert not upward, f"upward imports (module, imported): {upward}"
