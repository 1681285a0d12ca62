"""The host capture's packet socket (lab.runtime.packet_socket) and what the capture records of its own
holes (lab.runtime.capture), on loopback and on a veth pair of this host: real sockets, real kernel,
no Docker, nothing sent beyond 127.0.0.1.

Found in CI: the host capture recorded 1 of a master's 3 adverts and then nothing more, and the cross-check
blamed the lab's record. scapy's sniffer (which the capture used) closes its socket with only a warning when
a read or the callback raises, so the capture could end without a word; and without libpcap it filtered every
frame in Python and never reported frames the kernel dropped. A hole in the record must be an event."""
import os
import socket
import subprocess
import time

import pytest

from lab.history import History
from lab.runtime.capture import Capture
from lab.runtime.packet_socket import PacketSocket

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="packet sockets need root")

SRC = "127.0.0.1"


def advert(vrid: int = 52, priority: int = 150) -> bytes:
    """A VRRPv2 advert (RFC 3768 §5.1) for 10.0.0.200, checksum left 0 (the socket does not check it)."""
    return bytes([0x21, vrid, priority, 1, 0, 1, 0, 0]) + bytes([10, 0, 0, 200]) + b"\0" * 8


@pytest.fixture
def senders():
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    yield raw, udp
    raw.close()
    udp.close()


def wait_until(pred, timeout: float):
    """Poll ``pred`` (a kernel queue has no event to wait on) until true or ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not (v := pred()) and time.monotonic() < deadline:
        time.sleep(0.005)
    return v


def test_the_socket_receives_vrrp_only_once_each_with_the_kernel_time(senders):
    raw, udp = senders
    ps = PacketSocket("lo")
    try:
        t0 = time.time()
        for i in range(5):
            raw.sendto(advert(priority=100 + i), (SRC, 0))
            udp.sendto(b"not vrrp", (SRC, 9))
        t1 = time.time()
        frames = []
        wait_until(lambda: frames.extend(ps.drain()) or len(frames) >= 5, 2.0)
        frames += ps.drain()
        dropped = ps.drops()
    finally:
        ps.close()
    # loopback shows each frame twice to a packet socket (outgoing and incoming): counted once
    assert [f[1][23] for f in frames] == [112] * 5, "only IP protocol 112 passes the kernel filter"
    assert [f[1][14 + 20 + 2] for f in frames] == [100, 101, 102, 103, 104], "in order, each once"
    assert all(t is not None and t0 - 0.001 <= t <= t1 + 0.001 for t, _ in frames), \
        f"kernel receive times {[t for t, _ in frames]} outside the sends {t0}..{t1}"
    assert dropped == 0


def test_frames_the_kernel_dropped_are_counted(senders):
    raw, _ = senders
    ps = PacketSocket("lo", rcvbuf=1)          # the kernel's minimum: a few frames
    try:
        for _ in range(200):
            raw.sendto(advert(), (SRC, 0))
        kept = len(ps.drain())
        dropped, again = ps.drops(), ps.drops()
    finally:
        ps.close()
    assert kept < 200 and kept + dropped == 200, f"kept {kept}, dropped {dropped}: every frame is one or the other"
    assert again == 0, "the count starts again after each read"


def test_the_capture_records_adverts_and_flushes(senders):
    raw, _ = senders
    h = History()
    cap = Capture(h, "lo").start_host("lo")
    try:
        for p in (150, 151, 152):
            raw.sendto(advert(priority=p), (SRC, 0))
        sent = time.monotonic()
        assert cap.flush(sent, timeout=5.0), "the capture did not record what the kernel had received"
        assert [e["priority"] for e in h.events("advert")] == [150, 151, 152]
        assert all(e.t <= sent for e in h.events("advert")), "stamped with the kernel's receive time"
        assert h.capture_holes(float("-inf"), float("inf")) == []
    finally:
        cap.stop()
    assert not cap._thread.is_alive()
    assert h.events("capture") == [], "a stop the lab asked for is not a hole"


def test_frames_dropped_while_the_capture_was_busy_are_a_hole(senders):
    raw, _ = senders
    h = History()
    cap = Capture(h, "lo").start_host("lo", rcvbuf=1)
    try:
        with h._cond:                           # the capture's next append waits here: it reads nothing more
            t_block = time.monotonic()
            for _ in range(200):
                raw.sendto(advert(), (SRC, 0))
        assert h.wait_for(lambda hh: hh.events("capture"), timeout=5.0, account=False)
        lost = h.events("capture")[0]
        assert lost["action"] == "lost" and lost["dropped"] > 0 and "dropped" in lost["reason"]
        assert lost["since"] <= t_block + 0.5
        holes = h.capture_holes(t_block, t_block + 0.01)
        assert holes and "receive buffer" in holes[0]
        assert h.capture_holes(lost.t + 1, lost.t + 2) == [], "a hole has an end"
    finally:
        cap.stop()


@pytest.fixture
def iface():
    name = f"kalabt{os.getpid() % 100000}"
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"], check=True)
    try:
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], check=False)


def test_a_capture_whose_interface_goes_down_says_it_stopped(iface):
    h = History()
    cap = Capture(h, "lan").start_host(iface)
    try:
        t_down = time.monotonic()
        subprocess.run(["ip", "link", "set", iface, "down"], check=True)
        assert h.wait_for(lambda hh: hh.events("capture"), timeout=5.0, account=False), \
            "the capture ended without a word"
        stopped = h.events("capture")[0]
        assert stopped["action"] == "stopped" and stopped["network"] == "lan"
        assert "Network is down" in stopped["reason"] or "ENETDOWN" in stopped["reason"], stopped["reason"]
        assert h.capture_holes(t_down + 60, t_down + 61), "nothing is recorded after a stop"
        assert not cap.flush(time.monotonic(), timeout=1.0), "a stopped capture cannot flush"
    finally:
        cap.stop()
