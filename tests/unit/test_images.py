"""The node image's tag is a hash of its recipe (lab.runtime.images.tree_hash): the same recipe gives the
same tag wherever it lies, a checkout or an installed wheel's package data (pure, no Docker)."""
import shutil
from pathlib import Path

from lab.paths import bundled
from lab.runtime.images import tree_hash

ROOT = Path(__file__).resolve().parents[2]


def test_byte_code_caches_beside_the_recipe_do_not_change_its_tag(tmp_path):
    copy = tmp_path / "node"
    shutil.copytree(ROOT / "images" / "node", copy)
    before = tree_hash(copy)
    (copy / "__pycache__").mkdir()
    (copy / "__pycache__" / "rogue.cpython-311.pyc").write_bytes(b"\x00compiled")   # what pip writes for a wheel
    assert tree_hash(copy) == before == tree_hash(ROOT / "images" / "node")
    (copy / "entrypoint.sh").write_text((copy / "entrypoint.sh").read_text() + "\n# changed\n")
    assert tree_hash(copy) != before, "a change of the recipe changes the tag"


def test_a_checkout_uses_its_own_folders():
    assert bundled("images") == ROOT / "images" and bundled("topologies") == ROOT / "topologies"
