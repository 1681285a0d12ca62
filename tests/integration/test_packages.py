"""Extra Debian packages a node's scripts need (NodeSpec.packages, ``kalab check --package``): the node runs a
derived image with them installed, tagged by the hash of the node image and the package set.

Expected, from the design and the man page, before running: a node with ``packages: [jq]`` has
``/usr/bin/jq`` and its image is ``extra_image_tag(<node image>, ["jq"])``; a node without has neither;
keepalived runs the tracked script ``jq -e -n true`` and logs its success (man 5 keepalived.conf,
vrrp_script: a script that exits 0 succeeds), so the history records the script as ok; a package apt does not
know stops the lab before any node starts, with apt's own words and the package's name."""
import pytest

from lab.errors import ImageError
from lab.lab import Lab
from lab.runtime.images import extra_image_tag
from lab.timers import MARGIN
from lab.topology import validate

pytestmark = pytest.mark.integration


def topo(packages):
    inst = {"state": "BACKUP", "interface": "eth0", "virtual_router_id": 57, "advert_int": 1,
            "virtual_ipaddress": ["lan+200/24"], "track_script": ["chk_jq"]}
    return validate({"name": "packages", "networks": {"lan": {}},
                     "vrrp_scripts": {"chk_jq": {"script": "/usr/bin/jq -e -n true", "interval": 1, "weight": 0}},
                     "vrrp_instances": {"VI_1": inst},
                     "nodes": {"a": {"interfaces": {"eth0": {"network": "lan"}}, "packages": packages,
                                     "vrrp_instances": {"VI_1": {"priority": 150}}},
                               "b": {"interfaces": {"eth0": {"network": "lan"}},
                                     "vrrp_instances": {"VI_1": {"priority": 100, "track_script": []}}}}})


def test_a_node_gets_the_packages_its_scripts_need(lab_factory):
    lab = lab_factory(topo(["jq"]))
    a, b = lab.node("a"), lab.node("b")
    assert a.container.image.tags[0] == extra_image_tag(lab.image, ["jq"])
    assert b.container.image.tags[0] == lab.image
    assert a.exec(["jq", "-n", "1+1"]).output.strip() == "2"
    assert not b.exec(["sh", "-c", "command -v jq"]).ok
    ok = lab.history.wait_for(lambda h: h.events("script", node="a", script="chk_jq"), 2 + MARGIN)
    assert ok and ok[-1]["ok"] is True, f"keepalived did not run chk_jq with jq installed: {ok}"
    assert lab.wait_for_master("VI_1").name == "a"


def test_a_package_apt_does_not_know_stops_the_lab_before_any_node_starts():
    lab = Lab(topo(["kalab-no-such-package"]))
    try:
        with pytest.raises(ImageError, match=r"(?s)kalab-no-such-package.*Unable to locate package kalab-no-such-package"):
            lab.start()
        assert not lab.nodes, "no node may start"
    finally:
        lab.stop()
