"""keepalived without a VRRP raw socket (issue 13: caps per node): keepalived 2.2.7 logs
"cant open raw socket. errno=%d" (keepalived/vrrp/vrrp.c, open_vrrp_read_socket / open_vrrp_send_socket)
and then neither sends nor hears adverts. No rule of the model covers that, so the judge cannot judge
what follows and says why; the record names the missing capability."""
import pytest

from lab.events import node_effect
from lab.history import History
from lab.judge.inputs import model_inputs
from lab.runtime.node_events import parse_socket_error
from lab.topology import TopologyBuilder
from lab.errors import TopologyError


@pytest.mark.parametrize("line, errno", [
    ("Wed Dec  2 20:00:00 2026: (VI_1) cant open raw socket. errno=1", 1),
    ("cant open raw socket. errno=97", 97),
    ("Entering MASTER STATE", None),
    ("cant open raw socket. unknown family=10", None),
])
def test_parse_socket_error(line, errno):
    assert parse_socket_error(line) == errno


def test_a_socket_error_stops_the_judge_naming_the_capability():
    h = History()
    h.append("node", node="a", action="start")
    e = h.append("node", node="a", action="socket_error", errno=1)
    assert node_effect("socket_error") is None
    _, stop = model_inputs(h, ["a", "b"])
    assert stop is not None and stop.event == e
    assert "raw socket" in stop.reason and "CAP_NET_RAW" in stop.reason
    assert "CAP_NET_RAW" in e.summary()


def _two(**caps):
    b = TopologyBuilder("caps").network("lan")
    b.node("a", eth0="lan", instances={"VI_1": {"interface": "eth0", "virtual_router_id": 9, "priority": 150,
                                                "virtual_ipaddress": ["lan+200"]}}, **caps)
    return b.build()


def test_caps_default_to_what_the_lab_needs():
    n = _two().nodes["a"]
    assert (n.cap_add, n.cap_drop) == (["NET_ADMIN", "NET_RAW", "NET_BROADCAST"], [])


def test_caps_are_normalised_and_checked():
    n = _two(cap_add=["cap_net_admin"], cap_drop=["NET_RAW"]).nodes["a"]
    assert (n.cap_add, n.cap_drop) == (["NET_ADMIN"], ["NET_RAW"])
    with pytest.raises(TopologyError, match="NET_RWA.*not a Linux capability"):
        _two(cap_drop=["NET_RWA"])
    with pytest.raises(TopologyError, match="NET_ADMIN.*the lab needs it"):
        _two(cap_drop=["NET_ADMIN"])
    with pytest.raises(TopologyError, match="NET_ADMIN.*the lab needs it"):
        _two(cap_add=["NET_RAW"])
    # a dropped capability leaves the default cap_add (Docker: an added one would win over the drop)
    assert _two(cap_drop=["NET_RAW"]).nodes["a"].cap_add == ["NET_ADMIN", "NET_BROADCAST"]
    with pytest.raises(TopologyError, match="NET_RAW is in both cap_add and cap_drop"):
        _two(cap_add=["NET_ADMIN", "NET_RAW"], cap_drop=["NET_RAW"])


def test_a_start_the_loaded_engine_timed_out_wiring_up_is_transient_and_nothing_else_is():
    # CI15: 500 "failed to create shim task: failed to start io pipe copy: unable to copy pipes: containerd-shim:
    # opening w/o fifo ... init-stderr failed: context deadline exceeded" on a lab start; the container never ran
    import docker
    from lab.runtime.engine import transient_start_failure
    shim = docker.errors.APIError("500 Server Error", explanation=(
        'failed to create shim task: failed to start io pipe copy: unable to copy pipes: containerd-shim: opening '
        'w/o fifo "/var/run/docker/containerd/x/init-stderr" failed: context deadline exceeded'))
    assert transient_start_failure(shim)
    assert not transient_start_failure(docker.errors.APIError("409", explanation="is not running"))
    assert not transient_start_failure(docker.errors.APIError("500", explanation="context deadline exceeded"))
    assert not transient_start_failure(RuntimeError("failed to create shim task: context deadline exceeded"))
