"""The package's layers import only downward, and nothing in it imports in a circle.

Two checks, so a future circle or upward import fails CI:

* static: every ``import`` in lab/ (module level and inside functions, but not under
  ``if TYPE_CHECKING``) goes to a lower layer or stays inside its own package, and the import
  graph between packages has no cycle;
* dynamic: importing each pure module in a fresh interpreter loads no Docker library and no layer
  above it.

The layer table is docs/ARCHITECTURE.md's picture; change both together.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "lab"

#: package (or module) -> layer; a module may import its own package and lower layers only
LAYERS = {
    "lab.errors": 0, "lab.paths": 0, "lab.timers": 0, "lab.releases": 0.5, "lab.availability": 0.5, "lab.events": 0, "lab.priority": 0, "lab.workers": 0,
    "lab.history": 1,
    "lab.kaconf": 2,
    "lab.topology": 3,
    "lab.election": 4,
    "lab.judge": 5, "lab.crosscheck": 5, "lab.runtime": 5,
    "lab.nemesis": 6,
    "lab.checks": 7, "lab.waits": 7, "lab.observe": 7, "lab.journal": 7,
    "lab.lab": 8,
    "lab.report": 9, "lab.status": 9, "lab.conformance": 9, "lab.cli_output": 9, "lab.demo": 9.5, "lab.battery": 9.5, "lab.upgrade": 9.5, "lab.intent": 9.6, "lab.scenario": 9.5, "lab.explore": 9.6,
    "lab.pytest_plugin": 10, "lab.pytest_configs": 9.75, "lab.pytest_scenarios": 9.75, "lab.conformance_plugin": 10.5, "lab.cli": 10, "lab": 10,
}

#: pure layers: importing them must not load Docker or testcontainers
PURE = ["lab.errors", "lab.timers", "lab.releases", "lab.availability", "lab.workers", "lab.events", "lab.history", "lab.kaconf", "lab.topology", "lab.election",
        "lab.judge", "lab.crosscheck"]


def unit(mod: str) -> str:
    """The layer-table key a module belongs to (its longest listed prefix)."""
    best = "lab"
    for k in LAYERS:
        if (mod == k or mod.startswith(k + ".")) and len(k) > len(best):
            best = k
    return best


def modules() -> list[tuple[str, Path]]:
    out = []
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), p))
    return out


def imports(mod: str, path: Path) -> list[tuple[str, int]]:
    """(imported lab module, line) of every import outside ``if TYPE_CHECKING`` blocks."""
    tree = ast.parse(path.read_text())
    pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                for n in ast.walk(sub):
                    skip.add(id(n))
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "lab" or target.startswith("lab."):
                names = [f"{target}.{a.name}" for a in node.names] if not node.module else [target]
                out += [(t, node.lineno) for t in names]
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name == "lab" or a.name.startswith("lab.")]
    return out


def test_every_module_of_lab_has_a_layer():
    missing = [m for m, _ in modules() if unit(m) == "lab" and m != "lab"]
    assert not missing, f"modules with no layer in LAYERS (and docs/ARCHITECTURE.md): {missing}"


def test_imports_go_only_downward():
    bad = []
    for mod, path in modules():
        me = unit(mod)
        for target, line in imports(mod, path):
            them = unit(target)
            if them == me or target == "lab" and me == "lab":
                continue
            if LAYERS[them] >= LAYERS[me]:
                bad.append(f"{path.relative_to(ROOT)}:{line}: {mod} (layer {LAYERS[me]}) imports {target} "
                           f"(layer {LAYERS[them]})")
    assert not bad, "upward or sideways imports:\n" + "\n".join(bad)


def test_no_import_circle_between_modules():
    graph: dict[str, set[str]] = {}
    known = {m for m, _ in modules()}
    for mod, path in modules():
        deps = set()
        for target, _ in imports(mod, path):
            while target not in known and "." in target:
                target = target.rsplit(".", 1)[0]
            if target != mod and target in known and not mod.startswith(target + ".") and target != "lab":
                deps.add(target)
        graph[mod] = deps
    # an __init__ re-exporting its own submodules is not a circle of the design: drop package -> child edges
    for mod in graph:
        graph[mod] = {d for d in graph[mod] if not d.startswith(mod + ".")}
    seen, stack, cycles = set(), [], []

    def visit(n):
        if n in stack:
            cycles.append(stack[stack.index(n):] + [n])
            return
        if n in seen:
            return
        seen.add(n)
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            visit(d)
        stack.pop()

    for n in sorted(graph):
        visit(n)
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("mod", PURE)
def test_pure_layers_load_no_docker_and_nothing_above_them(mod):
    code = ("import sys, importlib, pkgutil\n"
            f"m = importlib.import_module({mod!r})\n"
            "if hasattr(m, '__path__'):\n"
            "    for i in pkgutil.walk_packages(m.__path__, m.__name__ + '.'):\n"
            "        importlib.import_module(i.name)\n"
            "print('\\n'.join(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    loaded = out.split()
    assert not [m for m in loaded if m.split(".")[0] in ("docker", "testcontainers", "scapy")], mod
    me = LAYERS[unit(mod)]
    above = [m for m in loaded if (m == "lab" or m.startswith("lab.")) and m != "lab"
             and LAYERS[unit(m)] > me]
    assert not above, f"importing {mod} loads higher layers: {above}"
