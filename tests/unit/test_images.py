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


def test_an_extra_package_set_has_one_tag_whatever_its_order_and_names_are_checked():
    import pytest

    from lab.errors import ImageError
    from lab.runtime.images import ensure_extra_image, extra_image_tag
    a = extra_image_tag("kalab/node:abc", ["haproxy", "jq"])
    assert a == extra_image_tag("kalab/node:abc", ["jq", "haproxy", "jq"]) and a.startswith("kalab/node-extra:")
    assert a != extra_image_tag("kalab/node:def", ["haproxy", "jq"]), "another node image is another derived image"
    assert a != extra_image_tag("kalab/node:abc", ["haproxy"])
    assert ensure_extra_image(None, "kalab/node:abc", []) == "kalab/node:abc"     # nothing to add: no build
    with pytest.raises(ImageError, match=r"'jq; rm -rf /' is not a Debian package name"):
        ensure_extra_image(None, "kalab/node:abc", ["jq; rm -rf /"])


def test_packages_are_a_node_field_named_in_errors_and_kalab_check_gives_them_to_every_node():
    import pytest

    from lab.errors import TopologyError
    from lab.topology import validate
    from lab.topology.from_configs import topology_from_configs
    base = {"name": "t", "networks": {"lan": {}},
            "vrrp_instances": {"VI_1": {"interface": "eth0", "virtual_router_id": 5, "virtual_ipaddress": ["lan+200"]}}}
    t = validate({**base, "nodes": {"a": {"interfaces": {"eth0": {"network": "lan"}}, "packages": ["haproxy", "haproxy"]}}})
    assert t.nodes["a"].packages == ["haproxy"]
    with pytest.raises(TopologyError, match=r"nodes\.a\.packages.*'HAProxy' is not a Debian package name"):
        validate({**base, "nodes": {"a": {"interfaces": {"eth0": {"network": "lan"}}, "packages": ["HAProxy"]}}})
    pair = Path(__file__).resolve().parents[2] / "topologies" / "configs" / "prod_pair"
    t = topology_from_configs([(pair / "lb1.conf", "lb1"), (pair / "lb2.conf", "lb2")], packages=["haproxy"])
    assert {n: t.nodes[n].packages for n in t.keepalived_nodes()} == {"lb1": ["haproxy"], "lb2": ["haproxy"]}
    assert t.nodes["client"].packages == []
