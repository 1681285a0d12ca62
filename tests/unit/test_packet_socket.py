"""The host capture's packet socket (lab.runtime.packet_socket) and what the capture records of its own
holes (lab.runtime.capture), on loopback and on a veth pair of this host: real sockets, real kernel,
no Docker, nothing sent beyond 127.0.0.1.

Found in CI: the host capture recorded 1 of a master's 3 adverts and then nothing more, and the cross-check
blamed the lab's record. scapy's sniffer (which the capture used) closes its socket with only a warning when
a read or the callback raises, so the capture could end without a word; and without libpcap it filtered every
frame in Python and never reported frames the kernel dropped. A hole in the record must be an event.

VRRPv3 over IPv6 (RFC 5798): the kernel filter passes IPv6 frames whose next header is 112 too. Hand-built
frames go out of one end of a veth pair made for the test and are read on the other end."""
import os
import socket
import struct
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
    """Raw (protocol 112) and UDP senders on loopback, held by one test at a time across xdist workers: ``lo``
    is shared, and a loopback test counting its adverts saw another worker's (``-n 4``, 1 run in 2)."""
    import fcntl
    import tempfile

    with open(os.path.join(tempfile.gettempdir(), "kalab-unit-loopback-vrrp.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            yield raw, udp
        finally:
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


def test_a_vrrp_frame_the_decoder_refuses_is_a_hole_not_a_silence(senders):
    # CI-13 under load: adverts keepalived counted (and the backup heard) were missing from the record with no
    # hole said; the decoder returned None for any frame it could not read, and the capture dropped it silently
    raw, _ = senders
    h = History()
    cap = Capture(h, "lo").start_host("lo")
    try:
        raw.sendto(bytes([0x21, 52, 150]), (SRC, 0))        # IP protocol 112, 3 bytes: no VRRP header
        raw.sendto(advert(priority=151), (SRC, 0))
        sent = time.monotonic()
        assert cap.flush(sent, timeout=5.0)
        assert [e["priority"] for e in h.events("advert")] == [151]
        (lost,) = h.events("capture")
        assert lost["action"] == "lost" and "could not be decoded" in lost["reason"], lost.data
        assert lost["since"] <= sent and lost["since"] <= lost.t, "from the frame's kernel time to its recording"
        assert h.capture_holes(lost["since"], lost.t), "the stretch it covers is a hole for the checks"
    finally:
        cap.stop()


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


# ---------------------------------------------------------------- the filter and IPv6 (RFC 5798)
@pytest.fixture
def veth_pair():
    """(receiving end, sending end) of a veth pair of this host, both up, IPv6 off on both (the kernel sends
    no DAD or MLD of its own on them, so every frame on the wire is one the test sent). Removed afterwards."""
    name = f"kalabf{os.getpid() % 100000}"
    peer = name + "p"
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", peer], check=True)
    try:
        for itf in (name, peer):
            knob = f"/proc/sys/net/ipv6/conf/{itf}/disable_ipv6"
            try:
                with open(knob, "w") as f:
                    f.write("1")
            except OSError:             # no IPv6 here, or a read-only /proc/sys: the kernel's own frames are
                pass                    # ICMPv6 (DAD, MLD behind a hop-by-hop header), which the filter drops
            subprocess.run(["ip", "link", "set", itf, "up"], check=True)
        yield name, peer
    finally:
        subprocess.run(["ip", "link", "del", name], check=False)


@pytest.fixture
def wire(veth_pair):
    """A packet socket on the sending end: ``send(frame)`` puts an Ethernet frame on the pair."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((veth_pair[1], 0))
    yield s.send
    s.close()


MAC6, MAC4, MAC_SRC = bytes.fromhex("333300000012"), bytes.fromhex("01005e000012"), bytes.fromhex("02420a090b0b")
LL = socket.inet_pton(socket.AF_INET6, "fe80::42:acff:fe11:2")
GROUP6 = socket.inet_pton(socket.AF_INET6, "ff02::12")


def ipv6(nh: int, payload: bytes, src: bytes = LL, dst: bytes = GROUP6) -> bytes:
    """Ethernet / IPv6 (RFC 8200 §3: next header at IPv6 byte 6, frame byte 20) / payload; no checksum: the
    filter reads none."""
    return MAC6 + MAC_SRC + b"\x86\xdd" + struct.pack("!IHBB", 6 << 28, len(payload), nh, 255) + src + dst + payload


def ipv4(proto: int, payload: bytes) -> bytes:
    """Ethernet / IPv4 (RFC 791: protocol at IPv4 byte 9, frame byte 23) / payload."""
    return (MAC4 + MAC_SRC + b"\x08\x00" + struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), 0, 0, 255,
                                                        proto, 0, bytes([10, 9, 0, 11]), bytes([224, 0, 0, 18]))
            + payload)


def advert6(priority: int) -> bytes:
    """A VRRPv3 advert (RFC 5798 §5.1) for 2001:db8::100, 100 cs, checksum left 0."""
    return bytes([0x31, 51, priority, 1, 0, 100, 0, 0]) + socket.inet_pton(socket.AF_INET6, "2001:db8::100")


def test_the_filter_passes_ipv6_next_header_112_and_nothing_else(veth_pair, wire):
    recv, send_end = veth_pair
    udp = struct.pack("!HHHH", 5000, 5001, 12, 0) + b"vrrp"
    icmp6 = bytes([135, 0, 0, 0]) + b"\0" * 20                             # a neighbour solicitation
    passes = [ipv6(112, advert6(150)), ipv4(112, advert(priority=151))]
    rejected = [
        ipv6(58, icmp6),                                                 # ICMPv6
        ipv6(17, udp),                                                   # UDP
        ipv6(0, bytes([112, 0, 1, 4, 0, 0, 0, 0]) + advert6(152)),      # hop-by-hop, then VRRP: not walked
        ipv6(58, icmp6, src=socket.inet_pton(socket.AF_INET6, "2070::1")),  # byte 23 (IPv4's protocol) is 112
        ipv4(17, udp),                                                   # IPv4, not VRRP
        ipv4(6, b"\0" * 20),                                             # IPv4 TCP
        MAC6 + MAC_SRC + b"\x88\xb5" + bytes([112]) * 46,                  # bytes 20 and 23 are 112, not IP
    ]
    assert all(f[20] != 112 for f in rejected[:2]) and rejected[3][23] == 112 and passes[0][20] == 112
    marker = ipv6(112, advert6(199))
    ps = PacketSocket(recv)
    sender_side = PacketSocket(send_end)
    try:
        for f in rejected[:4] + passes[:1] + rejected[4:] + passes[1:] + [marker]:
            wire(f)
        frames = []
        wait_until(lambda: frames.extend(ps.drain()) or len(frames) >= 3, 2.0)
        time.sleep(0.05)
        frames += ps.drain()
        own = sender_side.drain()
        # the kernel's own count of what passed the filter (tp_packets, tp_drops): drain() also skips outgoing
        # frames, so only this shows the filter itself refuses them
        passed, own_passed = (kernel_stats(s) for s in (ps, sender_side))
    finally:
        ps.close()
        sender_side.close()
    assert [data for _, data in frames] == passes + [marker], \
        f"received {[data[12:24].hex() for _, data in frames]}"
    assert all(t is not None for t, _ in frames), "each stamped by the kernel"
    assert passed == (3, 0)
    assert own == [] and own_passed == (0, 0), \
        "frames this host sends (IPv6 too) are refused by the filter on the interface that sent them"


def kernel_stats(ps: PacketSocket) -> tuple[int, int]:
    """(frames that passed the filter, of which dropped) since the last read: PACKET_STATISTICS."""
    from lab.runtime.packet_socket import PACKET_STATISTICS, SOL_PACKET
    return struct.unpack("@II", ps._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))


def test_the_capture_records_an_ipv6_advert_with_its_family(veth_pair, wire):
    recv, _ = veth_pair
    h = History()
    cap = Capture(h, "lan").start_host(recv)
    try:
        wire(ipv6(58, bytes([135, 0, 0, 0]) + b"\0" * 20))
        wire(ipv6(112, advert6(150)))
        wire(ipv4(112, advert(priority=151)))
        sent = time.monotonic()
        assert h.wait_for(lambda hh: len(hh.events("advert")) >= 2, timeout=5.0, account=False)
        assert cap.flush(sent + 0.05, timeout=5.0)
    finally:
        cap.stop()
    six, four = h.events("advert")
    assert {k: six.get(k) for k in ("src", "dst", "ttl", "vrid", "priority", "advert_int", "version", "addresses",
                                    "family", "network", "path")} == \
        {"src": "fe80::42:acff:fe11:2", "dst": "ff02::12", "ttl": 255, "vrid": 51, "priority": 150,
         "advert_int": 1.0, "version": 3, "addresses": ["2001:db8::100"], "family": 6, "network": "lan",
         "path": "host"}
    assert six["checksum_ok"] is False, "the test left the checksum 0"
    assert (four["src"], four["priority"], four["version"], four["family"]) == ("10.9.0.11", 151, 2, 4)
    assert h.capture_holes(float("-inf"), float("inf")) == []
