"""The advert decoder (lab.runtime.vrrp_decode) on packets as the capture receives them.

Found by the cross-check with keepalived's ``advert_sent`` (lab.crosscheck): the first advert a capture
saw was never recorded. scapy dissects a packet when it is received; ``IP`` payloads of protocol 112 are
typed as VRRP only once ``scapy.layers.vrrp`` is imported, and the decoder imported it on its first call,
after the first packet had been dissected as ``Raw``. The decoder must read the advert from the bytes.

VRRPv3 over IPv6 (RFC 5798) is decoded from the bytes too, with ``family`` 6 and ``checksum_ok`` over the
IPv6 pseudo-header; IPv4 adverts decode as before, plus ``family`` 4 and ``checksum_ok``."""
import socket
import struct
import subprocess
import sys

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.layers.vrrp import VRRP, VRRPv3
from scapy.packet import Raw

from lab.runtime.vrrp_decode import decode_vrrp

SRC, VIP = "10.9.0.11", "10.9.0.100"


def test_a_packet_dissected_before_the_vrrp_layer_was_bound_is_decoded():
    advert = bytes(VRRP(vrid=51, priority=150, adv=1, addrlist=[VIP]))
    pkt = Ether() / IP(src=SRC, dst="224.0.0.18", proto=112, ttl=255) / Raw(advert)
    d = decode_vrrp(pkt)
    assert d is not None
    assert (d["src"], d["vrid"], d["priority"], d["advert_int"], d["version"], d["addresses"]) == \
           (SRC, 51, 150, 1.0, 2, [VIP])


def test_vrrpv3_from_bytes():
    advert = bytes(VRRPv3(vrid=7, priority=200, adv=100, addrlist=[VIP]))
    d = decode_vrrp(Ether() / IP(src=SRC, dst="224.0.0.18", proto=112) / Raw(advert))
    assert (d["vrid"], d["priority"], d["advert_int"], d["version"]) == (7, 200, 1.0, 3)


def test_pass_authentication_is_read():
    advert = bytes(VRRP(vrid=1, priority=100, authtype=1, auth1=int.from_bytes(b"secr", "big"),
                        auth2=int.from_bytes(b"et\0\0", "big"), addrlist=[VIP]))
    d = decode_vrrp(Ether() / IP(src=SRC, dst="224.0.0.18", proto=112) / Raw(advert))
    assert d["auth"] == {"type": "PASS", "pass": "secret"}


def test_not_vrrp_and_truncated_give_none():
    assert decode_vrrp(Ether() / IP(proto=6) / Raw(b"x" * 20)) is None
    assert decode_vrrp(Ether() / IP(proto=112) / Raw(b"\x21")) is None


def test_the_first_packet_of_a_fresh_process_is_decoded():
    # what the capture sidecar and the first lab of a run do: receive before anything imported the layer
    prog = ("from scapy.layers.l2 import Ether\n"
            f"raw = bytes.fromhex({bytes(Ether() / IP(src=SRC, dst='224.0.0.18', proto=112) / VRRP(vrid=51, priority=150, addrlist=[VIP])).hex()!r})\n"
            "pkt = Ether(raw)\n"
            "from lab.runtime.vrrp_decode import decode_vrrp\n"
            "d = decode_vrrp(pkt)\n"
            "print(d and d['vrid'])\n")
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "51", out.stdout + out.stderr


# ---------------------------------------------------------------- VRRPv3 over IPv6 (RFC 5798)
# Frames built byte by byte from the RFCs' layouts, checksums computed here (RFC 1071 arithmetic), not by the
# decoder nor by scapy: the expected values are what the headers say.
LL_SRC, ALL_VRRP6 = "fe80::42:acff:fe11:2", "ff02::12"      # RFC 5798 §5.1.2.1 link-local source, §5.1.2.2 group
VIP6 = ["2001:db8::100", "fd00:1::7"]


def internet_checksum(data: bytes) -> int:
    """RFC 1071: the one's complement of the one's complement sum of 16-bit big-endian words (odd: pad 0)."""
    if len(data) % 2:
        data += b"\0"
    total = 0
    for i in range(0, len(data), 2):
        total += data[i] << 8 | data[i + 1]
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def v6(a: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6, a)


def v4(a: str) -> bytes:
    return socket.inet_aton(a)


def vrrpv3_message(vrid: int, priority: int, centis: int, addrs: list[bytes], rsvd: int = 0) -> bytes:
    """RFC 5798 §5.1: version 3 | type 1, VRID, priority, count IPvX addr, rsvd (4 bits) | max adver int (12 bits,
    centiseconds), checksum 0 (filled in by the caller), then the addresses."""
    return (bytes([0x31, vrid, priority, len(addrs)]) + struct.pack("!H", rsvd << 12 | centis) + b"\0\0"
            + b"".join(addrs))


def with_checksum(msg: bytes, ck: int) -> bytes:
    return msg[:6] + struct.pack("!H", ck) + msg[8:]


def ipv6_frame(msg_without_checksum: bytes, src: str = LL_SRC, dst: str = ALL_VRRP6, hlim: int = 255,
               nh: int = 112) -> bytes:
    """Ethernet (dst 33:33:00:00:00:12, RFC 2464 §7) / IPv6 (RFC 8200 §3: version 6, traffic class 0, flow 0,
    payload length, next header, hop limit, source, destination) / the message, its checksum over the
    RFC 8200 §8.1 pseudo-header (source, destination, upper-layer length as 32 bits, 3 zero bytes, next
    header 112): RFC 5798 §5.2.8."""
    pseudo = v6(src) + v6(dst) + struct.pack("!I", len(msg_without_checksum)) + b"\0\0\0" + bytes([112])
    msg = with_checksum(msg_without_checksum, internet_checksum(pseudo + msg_without_checksum))
    ip6 = struct.pack("!IHBB", 6 << 28, len(msg), nh, hlim) + v6(src) + v6(dst)
    return bytes.fromhex("333300000012" "02420a090b0b" "86dd") + ip6 + msg


def ipv4_frame(msg: bytes, src: str = SRC, dst: str = "224.0.0.18", ttl: int = 255, proto: int = 112) -> bytes:
    """Ethernet (01:00:5e:00:00:12, RFC 1112 §6.4) / IPv4 (RFC 791 §3.1, IHL 5, header checksum filled) / msg."""
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(msg), 0, 0, ttl, proto, 0, v4(src), v4(dst))
    hdr = hdr[:10] + struct.pack("!H", internet_checksum(hdr)) + hdr[12:]
    return bytes.fromhex("01005e000012" "02420a090b0b" "0800") + hdr + msg


def advert6(**kw) -> bytes:
    return ipv6_frame(vrrpv3_message(51, 150, 100, [v6(a) for a in VIP6]), **kw)


EXPECTED6 = {"src": LL_SRC, "dst": ALL_VRRP6, "ttl": 255, "vrid": 51, "priority": 150, "advert_int": 1.0,
             "version": 3, "auth": None, "addresses": VIP6, "family": 6, "checksum_ok": True}


def test_the_hand_built_ipv6_advert_is_what_scapy_builds():
    # the fixture itself against a third party: scapy's VRRPv3 under IPv6 fills its checksum with in6_chksum
    frame = advert6()
    built = bytes(IPv6(src=LL_SRC, dst=ALL_VRRP6, hlim=255) / VRRPv3(vrid=51, priority=150, adv=100, addrlist=VIP6))
    assert frame[14:] == built


def test_an_ipv6_vrrpv3_advert_is_decoded():
    assert decode_vrrp(Ether(advert6())) == EXPECTED6


@pytest.mark.parametrize("how", ["ether-raw", "ipv6-raw", "ipv6-layer"])
def test_an_ipv6_advert_is_decoded_however_scapy_dissected_it(how):
    frame = advert6()
    pkt = {"ether-raw": lambda: Ether(frame[:14]) / Raw(frame[14:]),        # inet6 not bound when it arrived
           "ipv6-raw": lambda: Ether(frame[:14]) / IPv6(frame[14:54]) / Raw(frame[54:]),
           "ipv6-layer": lambda: IPv6(frame[14:])}[how]()
    assert decode_vrrp(pkt) == EXPECTED6


def test_the_ipv6_checksum_covers_the_message_and_the_pseudo_header():
    frame = advert6()
    last_address_byte = len(frame) - 1
    src_byte, dst_byte, plen_byte = 14 + 8 + 15, 14 + 24 + 15, 14 + 5
    for i in (14 + 40 + 2, last_address_byte, src_byte, dst_byte):   # priority, an address, source, destination
        bad = bytearray(frame)
        bad[i] ^= 0x01
        d = decode_vrrp(Ether(bytes(bad)))
        assert d is not None and d["checksum_ok"] is False, f"byte {i} flipped: {d}"
    # a checksum over the message alone (the VRRPv2 rule, RFC 3768 §5.3.8) is wrong for VRRPv3
    msg = vrrpv3_message(51, 150, 100, [v6(a) for a in VIP6])
    no_pseudo = bytearray(frame)
    no_pseudo[14 + 40 + 6:14 + 40 + 8] = struct.pack("!H", internet_checksum(msg))
    assert decode_vrrp(Ether(bytes(no_pseudo)))["checksum_ok"] is False
    # the payload length is part of the pseudo-header: one trailing byte more is another sum
    longer = bytearray(frame + b"\x00\x01")
    longer[plen_byte] += 2
    assert decode_vrrp(Ether(bytes(longer)))["checksum_ok"] is False


def test_the_reserved_bits_are_not_the_interval_and_the_interval_is_in_centiseconds():
    d = decode_vrrp(Ether(ipv6_frame(vrrpv3_message(9, 254, 4095, [v6("2001:db8::1")], rsvd=0xF))))
    assert (d["vrid"], d["priority"], d["advert_int"], d["addresses"], d["checksum_ok"]) == \
           (9, 254, 40.95, ["2001:db8::1"], True)
    d = decode_vrrp(Ether(ipv6_frame(vrrpv3_message(9, 100, 25, [v6("2001:db8::1")]))))
    assert d["advert_int"] == 0.25


def test_the_hop_limit_is_the_ttl_and_addresses_are_compressed():
    d = decode_vrrp(Ether(advert6(src="fe80:0000:0000:0000:0042:acff:fe11:0002", hlim=1)))
    assert (d["src"], d["ttl"], d["checksum_ok"]) == (LL_SRC, 1, True)


def test_ethernet_padding_after_an_ipv6_advert_is_not_part_of_it():
    d = decode_vrrp(Ether(advert6() + b"\0" * 6))
    assert d == EXPECTED6


def test_ipv6_frames_that_are_not_vrrpv3_adverts_give_none():
    msg = vrrpv3_message(51, 150, 100, [v6(a) for a in VIP6])
    icmp6 = ipv6_frame(msg, nh=58)
    # a hop-by-hop header (next header 0) before VRRP: RFC 5798 §5.1.2.4 has next header 112 in the IPv6
    # header itself, and the capture filter does not walk extension headers either
    hbh = bytearray(ipv6_frame(b"\x70\x00" + b"\x01\x04\0\0\0\0" + msg, nh=0))
    v2_over_ipv6 = bytearray(ipv6_frame(msg))
    v2_over_ipv6[14 + 40] = 0x21
    two_addresses_one_sent = bytearray(ipv6_frame(vrrpv3_message(51, 150, 100, [v6(VIP6[0])])))
    two_addresses_one_sent[14 + 40 + 3] = 2
    truncated = advert6()[:-1]                  # the payload length says one byte more than the frame holds
    for frame in (icmp6, bytes(hbh), bytes(v2_over_ipv6), bytes(two_addresses_one_sent), truncated,
                  advert6()[:14 + 30]):
        assert decode_vrrp(Ether(frame)) is None, frame.hex()


def test_the_first_ipv6_packet_of_a_fresh_process_is_decoded():
    prog = ("from scapy.layers.l2 import Ether\n"
            f"pkt = Ether(bytes.fromhex({advert6().hex()!r}))\n"
            "from lab.runtime.vrrp_decode import decode_vrrp\n"
            "d = decode_vrrp(pkt)\n"
            "print(d and (d['family'], d['src'], d['addresses'], d['checksum_ok']))\n")
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == repr((6, LL_SRC, VIP6, True)), out.stdout + out.stderr


# ---------------------------------------------------------------- IPv4: unchanged, plus family and checksum_ok
def vrrpv2_message(vrid: int, priority: int, adv: int, addrs: list[str]) -> bytes:
    """RFC 3768 §5.1: version 2 | type 1, VRID, priority, count, auth type 0, adver int (s), checksum over the
    message alone (§5.3.8), addresses, 8 bytes of authentication data."""
    msg = bytes([0x21, vrid, priority, len(addrs), 0, adv, 0, 0]) + b"".join(v4(a) for a in addrs) + b"\0" * 8
    return with_checksum(msg, internet_checksum(msg))


def test_an_ipv4_vrrpv2_advert_is_decoded_as_before_with_its_family():
    d = decode_vrrp(Ether(ipv4_frame(vrrpv2_message(51, 150, 1, [VIP, "10.9.0.101"]))))
    assert d == {"src": SRC, "dst": "224.0.0.18", "ttl": 255, "vrid": 51, "priority": 150, "advert_int": 1.0,
                 "version": 2, "auth": None, "addresses": [VIP, "10.9.0.101"], "family": 4, "checksum_ok": True}
    bad = bytearray(ipv4_frame(vrrpv2_message(51, 150, 1, [VIP, "10.9.0.101"])))
    bad[14 + 20 + 2] = 149                      # priority
    assert decode_vrrp(Ether(bytes(bad)))["checksum_ok"] is False
    # VRRPv2's checksum does not cover the IP addresses: another source is still a good checksum
    other_src = decode_vrrp(Ether(ipv4_frame(vrrpv2_message(51, 150, 1, [VIP]), src="10.9.0.12")))
    assert (other_src["src"], other_src["checksum_ok"]) == ("10.9.0.12", True)


def test_an_ipv4_vrrpv3_checksum_covers_the_ipv4_pseudo_header():
    # RFC 5798 §5.2.8 / RFC 768: source, destination, zero, protocol 112, VRRP message length (16 bits)
    msg = vrrpv3_message(7, 200, 100, [v4(VIP)])
    pseudo = v4(SRC) + v4("224.0.0.18") + bytes([0, 112]) + struct.pack("!H", len(msg))
    good = ipv4_frame(with_checksum(msg, internet_checksum(pseudo + msg)))
    assert decode_vrrp(Ether(good)) == {"src": SRC, "dst": "224.0.0.18", "ttl": 255, "vrid": 7, "priority": 200,
                                        "advert_int": 1.0, "version": 3, "auth": None, "addresses": [VIP],
                                        "family": 4, "checksum_ok": True}
    message_only = ipv4_frame(with_checksum(msg, internet_checksum(msg)))
    assert decode_vrrp(Ether(message_only))["checksum_ok"] is False
    # keepalived's unicast bug (its old_unicast_checksum): the multicast group in the pseudo-header
    unicast = ipv4_frame(with_checksum(msg, internet_checksum(pseudo + msg)), dst="10.9.0.12")
    assert decode_vrrp(Ether(unicast))["checksum_ok"] is False


def test_the_ipv4_decoding_of_scapy_built_packets_is_unchanged():
    # what the decoder returned before family and checksum_ok were added, key for key
    before = {"src": SRC, "dst": "224.0.0.18", "ttl": 64, "vrid": 51, "priority": 150, "advert_int": 1.0,
              "version": 2, "auth": None, "addresses": [VIP]}
    d = decode_vrrp(Ether() / IP(src=SRC, dst="224.0.0.18", proto=112) / Raw(bytes(VRRP(vrid=51, priority=150,
                                                                                          addrlist=[VIP]))))
    assert {k: v for k, v in d.items() if k not in ("family", "checksum_ok")} == before
    assert list(d)[:len(before)] == list(before) and set(d) - set(before) == {"family", "checksum_ok"}
    assert (d["family"], d["checksum_ok"]) == (4, True)
