"""The runtime's lab-facing functions take only what they need (a history, a network, nodes, an
engine client and image), never the Lab; their argument errors need no Docker."""
from __future__ import annotations

import inspect

import pytest

from lab.errors import LabError
from lab.history import History
from lab.runtime.capture import start_capture
from lab.runtime.probe import probe_lab


class _Stopped:
    name = "a"

    def status(self):
        return "exited"


def test_signatures_name_their_inputs_not_a_lab():
    assert list(inspect.signature(start_capture).parameters) == [
        "history", "network_name", "docker_network", "nodes_on_it", "path", "wall_offset"]
    assert list(inspect.signature(probe_lab).parameters) == ["client", "image", "nodes"]


@pytest.mark.parametrize("nodes", [[], [_Stopped()]])
def test_probe_of_a_lab_not_started_says_so(nodes):
    with pytest.raises(LabError, match="the lab is not started"):
        probe_lab(None, None, nodes)


def test_container_capture_with_no_node_on_the_network_says_which_network():
    h = History()
    with pytest.raises(RuntimeError, match="no container on network 'lan'"):
        start_capture(h, "lan", None, [], path="container")
    assert len(h) == 0
