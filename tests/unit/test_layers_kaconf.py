"""Layer rule of the pure bottom: lab.kaconf and lab.priority import nothing above them (no Docker).

kaconf (keepalived's own language: schema, parse, render, lint) may import only lab.errors,
lab.timers, lab.priority and itself; lab.priority imports nothing of the lab. Checked two ways:
* dynamically, in a fresh interpreter: every module is imported and sys.modules is inspected
  (``lab/__init__.py``'s convenience imports are bypassed with a bare ``lab`` package, so what is
  found was pulled in by kaconf itself);
* statically, on the source: every ``import`` of a ``lab`` module, also inside functions, must be
  allowed; the transitional lazy forwards (module ``__getattr__`` that keep old import paths
  working) are listed in ``TRANSITIONAL`` and must not grow.
"""
import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "lab"
FORBIDDEN = ("lab.topology", "lab.lab", "lab.election", "lab.judge", "lab.checks", "lab.runtime", "lab.nemesis", "docker",
             "testcontainers")
ALLOWED = ("lab.errors", "lab.timers", "lab.priority", "lab.kaconf")

# (file, imported module) of the lazy forwards that keep pre-split import paths working; remove each once
# its callers import the new path (see the module's comment)
TRANSITIONAL: set = set()   # no forwards left: every caller imports the new paths


def _modules() -> list[str]:
    out = ["lab.priority"]
    for p in sorted((LAB / "kaconf").rglob("*.py")):
        parts = p.relative_to(ROOT).with_suffix("").parts
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


PROBE = r"""
import importlib, json, sys, types
root, mods = sys.argv[1], json.loads(sys.argv[2])
lab = types.ModuleType("lab"); lab.__path__ = [root + "/lab"]; sys.modules["lab"] = lab
for m in mods:
    importlib.import_module(m)
print(json.dumps(sorted(sys.modules)))
"""


def test_kaconf_and_priority_import_nothing_above_them():
    mods = _modules()
    assert "lab.kaconf.lint.rules.weight_gap" in mods and "lab.kaconf.schema" in mods
    out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT), json.dumps(mods)],
                         capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out)
    bad = [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert not bad, f"importing lab.kaconf / lab.priority pulled in {bad}"
    lab_mods = [m for m in loaded if m.startswith("lab.")]
    assert all(any(m == a or m.startswith(a + ".") for a in ALLOWED) for m in lab_mods), lab_mods


def test_priority_alone_imports_no_lab_module():
    out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT), json.dumps(["lab.priority"])],
                         capture_output=True, text=True, check=True).stdout
    assert [m for m in json.loads(out) if m.startswith("lab.")] == ["lab.priority"]


def _lab_imports(path: Path) -> set[str]:
    """Absolute names of the lab modules a file imports (relative imports resolved), anywhere in it."""
    pkg = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    if path.name == "__init__.py":
        pkg = ".".join(path.relative_to(ROOT).parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name == "lab" or name.startswith("lab."):
                out.add(name)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("lab")}
    return out


def test_kaconf_source_imports_only_allowed_layers():
    files = sorted((LAB / "kaconf").rglob("*.py")) + [LAB / "priority.py"]
    found = set()
    for f in files:
        rel = str(f.relative_to(ROOT))
        for name in _lab_imports(f):
            if rel == "lab/priority.py":
                assert False, f"lab/priority.py imports {name}: it is the bottom layer"
            if any(name == a or name.startswith(a + ".") for a in ALLOWED):
                continue
            found.add((rel, name))
    assert found <= TRANSITIONAL, f"kaconf imports upward: {sorted(found - TRANSITIONAL)}"
