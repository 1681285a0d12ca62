"""pytest collects *.scenario.yaml files (lab.pytest_scenarios): one item per scenario and release, the file's
allow: and xfail: as markers, and a file with problems as a collection error naming its lines (no
traceback). Collection only: nothing starts."""

pytest_plugins = ["pytester"]

TOPO = """topology:
  name: t
  networks: {lan: {}}
  vrrp_instances:
    VI_1: {interface: eth0, virtual_router_id: 5, virtual_ipaddress: [lan+200/24]}
  nodes:
    a: {interfaces: {eth0: {network: lan}}, vrrp_instances: {VI_1: {priority: 150}}}
    b: {interfaces: {eth0: {network: lan}}, vrrp_instances: {VI_1: {priority: 100}}}
"""


def test_a_scenario_file_is_an_item_per_release(pytester):
    pytester.makefile(".scenario.yaml", kill=TOPO + "allow: [rogue]\nxfail: {2.3.4: \"docs say X; 2.3.4 does Y\"}\n"
                                              "steps:\n  - kill: a\n  - expect: {master: b}\n")
    r = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider", "--lab-keepalived", "2.2.7,2.3.4")
    r.stdout.fnmatch_lines(["kill.scenario.yaml::kill[[]ka2.2.7[]]", "kill.scenario.yaml::kill[[]ka2.3.4[]]"])
    items = pytester.getitems(pytester.path / "kill.scenario.yaml")
    assert [i.get_closest_marker("judge").kwargs["allow"] for i in items] == [["rogue"]]
    assert items[0].get_closest_marker("integration") is not None


def test_the_files_release_list_and_xfail_become_items_and_markers(pytester):
    pytester.makefile(".scenario.yaml", kill=TOPO + "keepalived: [2.2.7, 2.3.4]\n"
                                              "xfail: {2.3.4: \"docs say X; 2.3.4 does Y\"}\n"
                                              "steps:\n  - kill: a\n  - expect: {master: b}\n")
    config = pytester.parseconfigure(pytester.path)
    from _pytest.main import Session
    session = Session.from_config(config)
    config.hook.pytest_sessionstart(session=session)
    items = session.perform_collect([str(pytester.path / "kill.scenario.yaml")])
    assert [i.name for i in items] == ["kill[ka2.2.7]", "kill[ka2.3.4]"]
    xf = [i.get_closest_marker("xfail") for i in items]
    assert xf[0] is None and xf[1].kwargs == {"reason": "docs say X; 2.3.4 does Y", "strict": True}


def test_a_bad_file_is_a_collection_error_naming_its_lines(pytester):
    pytester.makefile(".scenario.yaml", bad=TOPO + "steps:\n  - kill: c\n  - expect: {master: b, within: 20}\n")
    r = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    out = r.stdout.str()
    assert r.ret == 2, out
    assert "bad.scenario.yaml:10: steps.0.kill.node: no node 'c' in the topology" in out
    assert "bad.scenario.yaml:11: steps.1.expect.within: 20 has no unit; write 20s" in out
    assert "Traceback" not in out and "lab/scenario" not in out
