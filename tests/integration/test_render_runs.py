"""What keepalived runs is what `kalab render` shows, for every topology in topologies/ (issue 13:
the lab never changes what it tests).

For each keepalived node, the file keepalived reads (/etc/keepalived/keepalived.conf, after the node's
entrypoint, which leaves only commands the node cannot execute unwrapped: none here) is byte for byte the
config `kalab render TOPOLOGY NODE` renders with the lab's subnets (a user's own template: its rendering).
The plugin's judge then checks each lab's start-up election against the model.
"""
from pathlib import Path

import pytest

from lab.lab import SCRIPT_WRAPPER
from lab.topology.render import render_node

pytestmark = pytest.mark.integration
TOPOS = sorted((Path(__file__).resolve().parents[2] / "topologies").glob("*.yaml"))


@pytest.mark.parametrize("path", TOPOS, ids=[p.stem for p in TOPOS])
def test_what_runs_is_what_kalab_render_shows(lab_factory, path):
    lab = lab_factory(path)
    for name in lab.topology.keepalived_nodes():
        running = lab.node(name).read_file("/etc/keepalived/keepalived.conf")
        shown = lab.configs.get(name) or render_node(lab.topology, name, lab.subnets, script_wrapper=SCRIPT_WRAPPER)
        assert running == shown, f"{path.name}: node {name} runs another keepalived.conf than `kalab render` shows"
