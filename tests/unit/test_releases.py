"""keepalived releases (lab.releases): names, the topology's ``keepalived:`` field and the per-release image
tag (pure, no Docker)."""
import pytest

from lab.errors import TopologyError
from lab.releases import DEFAULT_VERSION, RELEASES, UnknownRelease, release, releases
from lab.runtime.images import node_image_tag
from lab.topology import load

pytest_plugins = ["pytester"]


def test_a_release_is_named_by_its_version_or_its_debian_suite():
    assert release("2.1.5").suite == "bullseye" and release("bullseye").version == "2.1.5"
    assert release("v2.3.4") is release("sid") is release(" SID ")
    assert release(None).version == release("").version == DEFAULT_VERSION == "2.2.7"
    assert [r.version for r in RELEASES] == ["2.1.5", "2.2.7", "2.3.3", "2.3.4"], "oldest first"
    assert release("2.1.5").key < release("2.2.7").key < release("2.3.3").key < release("2.3.4").key


def test_an_unknown_release_lists_those_the_lab_builds():
    with pytest.raises(UnknownRelease, match=r"'2\.2\.8' is not a release.*2\.1\.5 \(bullseye\).*2\.3\.4 \(sid\)"):
        release("2.2.8")


def test_a_list_keeps_its_order_without_repeats_and_all_is_every_release():
    assert [r.version for r in releases("2.3.4, bookworm,2.3.4")] == ["2.3.4", "2.2.7"]
    assert releases("all") == list(RELEASES)
    with pytest.raises(UnknownRelease):
        releases(" , ")


def test_each_release_has_its_own_image_tag_naming_version_and_suite():
    tags = {r.version: node_image_tag(release=r) for r in RELEASES}
    assert len(set(tags.values())) == 4
    for r in RELEASES:
        assert tags[r.version].startswith(f"kalab/node:{r.version}-{r.suite}-")
    assert node_image_tag() == tags[DEFAULT_VERSION] == node_image_tag(release="bookworm")


TOPO = """name: t
networks: {lan: {}}
%s
vrrp_instances:
  VI_1: {interface: eth0, virtual_router_id: 51, virtual_ipaddress: [lan+200]}
nodes:
  a:
    interfaces: {eth0: {network: lan}}
    vrrp_instances: {VI_1: {priority: 150}}
    %s
  b:
    interfaces: {eth0: {network: lan}}
    vrrp_instances: {VI_1: {priority: 100}}
"""


def topo(tmp_path, top="", node_a=""):
    p = tmp_path / "t.yaml"
    p.write_text(TOPO % (top, node_a))
    return p


def test_a_node_release_wins_over_the_topology_which_wins_over_the_run(tmp_path):
    t = load(topo(tmp_path, "keepalived: trixie", "keepalived: '2.1.5'"))
    assert t.release_of("a").version == "2.1.5" and t.release_of("b").version == "2.3.3"
    assert t.release_of("b", default="2.3.4").version == "2.3.3", "the topology's choice is the test's"
    t = load(topo(tmp_path))
    assert {n: r.version for n, r in t.releases("sid").items()} == {"a": "2.3.4", "b": "2.3.4"}
    assert t.release_of("a").version == DEFAULT_VERSION


def test_an_unknown_or_unquoted_release_names_file_line_and_field(tmp_path):
    p = topo(tmp_path, "", "keepalived: '2.2.8'")
    with pytest.raises(TopologyError, match=rf"{p}:10.*nodes\.a\.keepalived.*2\.1\.5 \(bullseye\)"):
        load(p)
    p = topo(tmp_path, "keepalived: 2.3")         # YAML reads a float
    with pytest.raises(TopologyError, match=r"keepalived.*must be a release written as a string"):
        load(p)


def test_an_empty_release_is_an_error_not_the_default(tmp_path):
    # newcomer trial: `keepalived: ""` on a node ran it on 2.2.7 although the topology said 2.3.4; an empty
    # --lab-keepalived was ignored. Leaving a release out is `null` or no key; an empty string names nothing.
    p = topo(tmp_path, "keepalived: '2.3.4'", "keepalived: ''")
    with pytest.raises(TopologyError, match=r"nodes\.a\.keepalived.*empty.*leave the key out"):
        load(p)
    with pytest.raises(UnknownRelease, match="no keepalived release named"):
        releases("")
    with pytest.raises(UnknownRelease, match="no keepalived release named"):
        releases(" , ")


def test_an_empty_lab_keepalived_option_is_a_usage_error(pytester):
    pytester.makepyfile("def test_x():\n    pass\n")
    r = pytester.runpytest("--lab-keepalived=")      # the plugin is installed (entry point pytest11)
    assert r.ret == 4, r.stdout.str() + r.stderr.str()
    r.stderr.fnmatch_lines(["*--lab-keepalived*no keepalived release named*"])
