"""Capabilities per node (issue 13): a node given NET_ADMIN without NET_RAW cannot open keepalived's VRRP
socket. Expected from the sources, not from a run: Linux refuses SOCK_RAW without CAP_NET_RAW with EPERM
(net/ipv4/af_inet.c, inet_create), and keepalived 2.2.7 logs "cant open raw socket. errno=%d"
(keepalived/vrrp/vrrp.c). The lab records it as a ``socket_error`` node event that names the missing
capability, and the judge says it cannot judge what follows (no rule covers an instance without its
socket)."""
import pytest

from lab.timers import STARTUP_ALLOWANCE
from lab.topology import TopologyBuilder

pytestmark = pytest.mark.integration


def topology():
    b = TopologyBuilder("caps").network("lan")
    inst = {"interface": "eth0", "virtual_router_id": 73, "advert_int": 1, "virtual_ipaddress": ["lan+200"]}
    b.node("a", eth0="lan", instances={"VI_1": {**inst, "priority": 150}}, cap_drop=["NET_RAW"])
    b.node("b", eth0="lan", instances={"VI_1": {**inst, "priority": 100}})
    return b.build()


@pytest.mark.judge(False, reason="keepalived without its VRRP socket is outside the model; the test checks "
                                 "that the judge says so")
def test_net_admin_alone_gives_a_named_socket_error_and_cannot_judge(lab_factory):
    lab = lab_factory(topology())
    assert lab.node("a").container.attrs["HostConfig"]["CapDrop"] == ["NET_RAW"]
    got = lab.history.wait_for(lambda h: h.events("node", node="a", action="socket_error"), STARTUP_ALLOWANCE)
    assert got, "no socket_error recorded for a"
    assert got[0]["errno"] == 1, "EPERM (inet_create without CAP_NET_RAW)"
    assert "CAP_NET_RAW" in got[0].summary()
    assert lab.history.wait_for(lambda h: h.events("node", node="b", action="ready"), STARTUP_ALLOWANCE)
    assert not lab.history.events("node", node="b", action="socket_error")
    with pytest.raises(AssertionError, match="cannot judge") as e:
        lab.check.assert_matches_model()
    assert "cannot open its VRRP raw socket" in str(e.value) and "CAP_NET_RAW" in str(e.value)
