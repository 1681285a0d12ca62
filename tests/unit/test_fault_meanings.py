"""Every fault kind declares its meaning for the election model, and each meaning is tested here.

Pure: a fault's meaning depends only on its parameters and the topology, so it is built against a
stand-in FaultTarget (the topology of topologies/three_node.yaml-like nodes a, b, c plus a client)
without Docker. Expected inputs are written from the rules each fault's docstring cites
(RFC 3768 §6.4.2/§6.4.3, man 5 keepalived.conf), not from what the code returns.
"""
from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

import lab.nemesis as nemesis
from lab.events import check_model_inputs
from lab.history import History
from lab.judge import fault_inputs
from lab.topology import validate

TOPO = validate({
    "name": "meanings",
    "networks": {"lan": {}},
    "vrrp_scripts": {"chk": {"script": "test -e /run/kalab/ok-chk", "weight": -60}},
    "vrrp_instances": {"VI_1": {"state": "BACKUP", "interface": "eth0", "virtual_router_id": 51, "advert_int": 1,
                                "virtual_ipaddress": ["lan+200/24"], "track_script": ["chk"]}},
    "nodes": {
        "a": {"interfaces": {"eth0": {"network": "lan"}}, "vrrp_instances": {"VI_1": {"priority": 150}}},
        "b": {"interfaces": {"eth0": {"network": "lan"}}, "vrrp_instances": {"VI_1": {"priority": 100}}},
        "c": {"interfaces": {"eth0": {"network": "lan"}}, "vrrp_instances": {"VI_1": {"priority": 50}}},
        "client": {"kind": "client", "interfaces": {"eth0": {"network": "lan"}}},
    },
})


class _Node:
    def __init__(self, name: str, host: int):
        self.name = name
        self.addresses = {"eth0": ipaddress.IPv4Address(f"10.0.0.{host}")}

    def json_files(self, folder):
        return []

    def read_file(self, path):
        """The running keepalived.conf (only its track_file blocks matter here)."""
        assert path == "/etc/keepalived/keepalived.conf"
        return ('track_file flag {\n  file "/run/kalab/flag"\n  weight -10\n}\n'
                'track_file init7 {\n  file "/run/kalab/init7"\n  init_file 7\n}\n')


class Target:
    """A stand-in FaultTarget: the topology and node names, no containers (meanings are pure)."""

    def __init__(self):
        self.id, self.history, self.faults, self.topology = "t", History(), [], TOPO
        self.nodes = {n: _Node(n, i + 2) for i, n in enumerate(TOPO.nodes)}

    capabilities = None

    def node(self, name):
        return self.nodes[name]

    def vips(self, instance):
        return [ipaddress.IPv4Address("10.0.0.200")]


def H(r, s, hears):
    return {"input": "hearing", "receiver": r, "sender": s, "hears": hears}


def N(name, node, **kw):
    return {"input": name, "node": node, **kw}


# kind -> list of (params, expected apply meaning, expected heal meaning); None = no rule (unmodelled)
CASES = {
    "kill": [({}, [N("node_down", "a", graceful=False)], [N("node_up", "a")])],
    "sigkill": [({}, [N("node_down", "a", graceful=False)], [N("node_up", "a")])],
    "stop": [({}, [N("node_down", "a", graceful=True)], [N("node_up", "a")])],       # RFC 3768 §6.4.3 Shutdown
    "sigterm": [({}, [N("node_down", "a", graceful=True)], [N("node_up", "a")])],
    "pause": [({}, [N("node_paused", "a")], [N("node_resumed", "a")])],
    "restart": [({}, [N("node_down", "a", graceful=True), N("node_up", "a")], [])],
    "kill-vrrp-child": [({}, [N("node_down", "a", graceful=False), N("node_up", "a")], [])],
    "drop-vrrp": [
        ({"direction": "in"}, [H("a", "b", False), H("a", "c", False)], [H("a", "b", True), H("a", "c", True)]),
        ({"direction": "out"}, [H("b", "a", False), H("c", "a", False)], [H("b", "a", True), H("c", "a", True)]),
        ({"direction": "both", "peer": "b"}, [H("a", "b", False), H("b", "a", False)],
         [H("a", "b", True), H("b", "a", True)]),
    ],
    "one-way": [
        ({"to": "b"}, [H("b", "a", False)], [H("b", "a", True)]),
        ({"to": "b", "proto": "icmp"}, [], []),                 # ICMP is not VRRP
        ({"to": "client"}, [], []),                             # the client runs no keepalived
    ],
    "partition": [
        ({}, [H("a", "b", False), H("a", "c", False), H("b", "a", False), H("c", "a", False)],
         [H("a", "b", True), H("a", "c", True), H("b", "a", True), H("c", "a", True)]),
        ({"groups": "a,b/c"}, [H("a", "c", False), H("b", "c", False), H("c", "a", False), H("c", "b", False)],
         [H("a", "c", True), H("b", "c", True), H("c", "a", True), H("c", "b", True)]),
    ],
    "link-down": [({}, [N("interface", "a", interface="eth0", up=False)], [N("interface", "a", interface="eth0", up=True)])],
    "loss": [
        ({"percent": 100, "direction": "in"}, [H("a", "b", False), H("a", "c", False)],
         [H("a", "b", True), H("a", "c", True)]),
        ({"percent": 30}, None, None),                          # chance: no rule
        ({"percent": 30, "proto": "icmp"}, [], []),
    ],
    "delay": [
        ({"ms": 100}, [], []),                                  # far below master down interval - advert_int
        ({"ms": 3000}, None, None),                             # reaches the master down interval: no rule
    ],
    "rogue": [
        ({"priority": 255}, [dict(input="rogue", instance="VI_1", priority=255, active=True)],
         [dict(input="rogue", instance="VI_1", priority=255, active=False)]),   # R_ROGUE
        ({"priority": 255, "count": 3}, None, None),            # stops by itself: no input for when
        ({"priority": 255, "vrid": 99}, [], []),                # RFC 3768 §7.1: discarded (another VRID)
        ({"priority": 255, "version": 3}, [], []),              # discarded (another version)
        ({"priority": 255, "advert_int": 2}, [], []),           # VRRPv2: discarded (another interval)
    ],
    "reload": [({"priority": 90}, [N("reload", "a", instance="VI_1", changes={"priority": 90})],
                [N("reload", "a", instance="VI_1", changes={"priority": 150})])],
    "nginx-stop": [
        ({}, None, None),                                       # a tracks scripts and names none
        ({"scripts": "chk"}, [N("script_result", "a", script="chk", ok=False)],
         [N("script_result", "a", script="chk", ok=True)]),
    ],
    "script": [
        ({"script": "chk"}, [N("script_result", "a", script="chk", ok=False)],
         [N("script_result", "a", script="chk", ok=True)]),
        ({"script": "chk", "result": "ok", "real": "fail"}, [N("script_result", "a", script="chk", ok=True)],
         [N("script_result", "a", script="chk", ok=False)]),
    ],
    "track-file": [                                             # man 5 keepalived.conf, Track files
        ({"file": "flag", "value": 6}, [N("track_file", "a", file="flag", value=6)],
         [N("track_file", "a", file="flag", value=0)]),         # heal: a missing file's 0
        ({"file": "init7", "value": 0}, [N("track_file", "a", file="init7", value=0)],
         [N("track_file", "a", file="init7", value=7)]),        # heal: its init_file value
        ({"file": "flag", "value": 2, "restore": 3}, [N("track_file", "a", file="flag", value=2)],
         [N("track_file", "a", file="flag", value=3)]),
    ],
    "command": [
        ({"run": "rm -f /run/kalab/ok-chk"}, None, None),
        ({"run": "rm -f /run/kalab/ok-chk", "undo": "touch /run/kalab/ok-chk", "script": "chk"},
         [N("script_result", "a", script="chk", ok=False)], [N("script_result", "a", script="chk", ok=True)]),
    ],
}


def test_every_registered_fault_kind_declares_a_meaning_and_has_a_case_here():
    kinds = nemesis.kinds()
    undeclared = [k for k, c in kinds.items() if c.model_inputs is nemesis.Fault.model_inputs]
    assert not undeclared, f"fault kinds without a declared model meaning: {undeclared}"
    assert set(CASES) == set(kinds), (f"fault kinds without a meaning test: {sorted(set(kinds) - set(CASES))}; "
                                      f"stale cases: {sorted(set(CASES) - set(kinds))}")


@pytest.mark.parametrize("kind,params,apply,heal",
                         [(k, p, a, h) for k, cases in CASES.items() for p, a, h in cases],
                         ids=lambda v: v if isinstance(v, str) else None)
def test_fault_meaning(kind, params, apply, heal):
    target = "client" if kind == "rogue" else "a"
    f = nemesis.kinds()[kind](Target(), target, **params)
    for action, want in (("apply", apply), ("heal", heal)):
        got = f.model_inputs(action)
        if want is None:
            assert got is None and f.unmodelled(action), f"{kind} {action}: expected no rule, with a reason"
        else:
            assert sorted(check_model_inputs(got), key=repr) == sorted(want, key=repr), f"{kind} {action}"


@pytest.mark.parametrize("kind", sorted(CASES))
def test_the_recorded_fault_event_carries_the_meaning_the_judge_reads(kind):
    target = "client" if kind == "rogue" else "a"
    params, want, _ = CASES[kind][0]
    f = nemesis.kinds()[kind](Target(), target, **params)
    h = History()
    ev = h.append("fault", name=f.name, action="apply", target=target, fault_kind=kind, **f._meaning("apply"))
    inputs, why = fault_inputs(ev)
    if want is None:
        assert inputs is None and why
    else:
        assert len(inputs) == len(want)


def test_a_track_file_fault_names_the_blocks_there_are():
    from lab.errors import LabError
    with pytest.raises(LabError, match=r"no track_file block 'nope' \(its track_file blocks: flag, init7\)"):
        nemesis.kinds()["track-file"](Target(), "a", file="nope", value=1)


@pytest.mark.parametrize("kind,args,says", [
    ("track-file", [], "give file=... and value=..."),
    ("script", [], "give script=..."),
    ("track-file", ["file=flag", "value=99999999999999999999"], "keepalived 2.2.7 ignores such a value"),
])
def test_a_missing_or_impossible_parameter_is_one_clear_error(kind, args, says):
    from lab.errors import LabError
    with pytest.raises(LabError, match=re.escape(says)):
        nemesis.make_fault(Target(), kind, "a", args)
