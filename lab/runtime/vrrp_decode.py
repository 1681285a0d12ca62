"""Decode one VRRP advert from a captured packet (scapy). Self-contained on purpose: stdlib and scapy
only, no other module of the lab, because the capture sidecar (:mod:`lab.runtime.sidecar`) runs this
very file inside a container.

Both families: VRRPv2 and VRRPv3 over IPv4 (RFC 3768, RFC 5798), VRRPv3 over IPv6 (RFC 5798: from the
interface's link-local address to ff02::12, next header 112, hop limit 255). ``advert_int`` is in seconds
(VRRPv2 carries whole seconds, VRRPv3 centiseconds: RFC 3768 §5.3.7, RFC 5798 §5.2.7); ``auth`` is None or
``{"type": "PASS"|"AH"|int, "pass": str}`` (RFC 2338 §5.3.6 / keepalived's PASS, 8 characters).

``checksum_ok`` checks the VRRP checksum as a receiver must (RFC 3768 §7.1, RFC 5798 §7.1): VRRPv2's covers
the VRRP message alone (RFC 3768 §5.3.8); VRRPv3's also covers a pseudo-header (RFC 5798 §5.2.8): over IPv4
the RFC 768 one (source, destination, zero, protocol 112, VRRP length in 16 bits), over IPv6 the RFC 8200
§8.1 one (source, destination, VRRP length in 32 bits, three zero bytes, next header 112). keepalived
before 1.3.6 put the multicast group in the IPv4 pseudo-header of unicast VRRPv3 adverts (its issue #642),
and ``old_unicast_checksum`` (a vrrp_instance keyword of builds with that compatibility) still does: such
adverts decode with ``checksum_ok`` False.
"""
from __future__ import annotations

import ipaddress
import struct
from typing import Any, Optional

AUTH_TYPES = {0: None, 1: "PASS", 2: "AH"}

#: IP protocol / IPv6 next header of VRRP (IANA; RFC 3768 §5.2.4, RFC 5798 §5.1.1.4, §5.1.2.4)
IPPROTO_VRRP = 112


def _ones_sum(data: bytes) -> int:
    """The 16-bit one's complement sum of ``data`` as big-endian words (RFC 1071; an odd byte is padded 0)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def checksum_ok(message: bytes, pseudo_header: bytes = b"") -> bool:
    """Whether the checksum inside ``message`` (a VRRP message, checksum field included, exactly as long as its
    IP header says) is right: the one's complement sum of ``pseudo_header + message`` is all ones (RFC 1071)."""
    return _ones_sum(pseudo_header + message) == 0xFFFF


def _network_layer(packet):
    """The outermost IPv4 or IPv6 layer of a scapy packet (an IP inside ICMP is not it), or None."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.packet import NoPayload

    layer = packet
    while layer is not None and not isinstance(layer, NoPayload):
        if isinstance(layer, (IP, IPv6)):
            return layer
        layer = layer.payload
    return None


def decode_vrrp(packet) -> Optional[dict[str, Any]]:
    """Decode a scapy packet holding a VRRP advert (IPv4, or VRRPv3 over IPv6); None for anything else.

    Returns ``{"src", "dst", "ttl", "vrid", "priority", "advert_int" (s), "version", "auth", "addresses",
    "family", "checksum_ok"}``: ``family`` 4 or 6; over IPv6 ``src``, ``dst`` and ``addresses`` are compressed
    IPv6 strings, ``ttl`` is the hop limit, ``version`` 3 and ``auth`` None; ``checksum_ok`` True / False (see
    the module), None over IPv4 when the packet is shorter than its IP header says. Raises nothing on
    malformed input (returns None).
    """
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    from scapy.layers.vrrp import VRRP, VRRPv3

    outer = _network_layer(packet)
    if isinstance(outer, IPv6):
        return _decode_ipv6(outer)
    if outer is None and isinstance(packet, Ether) and packet.type == 0x86DD:
        # dissected before scapy.layers.inet6 was imported: the IPv6 header is in a Raw payload
        return _decode_ipv6(packet.payload)
    if IP not in packet and isinstance(packet, Ether) and packet.type == 0x0800:
        try:                # dissected before scapy.layers.inet was imported: the IP header is in a Raw payload
            packet = IP(bytes(packet.payload))
        except Exception:
            return None
    if IP not in packet or packet[IP].proto != IPPROTO_VRRP:
        return None
    ip = packet[IP]
    try:
        # from the bytes: a packet received before scapy.layers.vrrp was imported was dissected with a Raw
        # payload (the first advert of every capture was lost that way)
        raw = bytes(ip.payload)
        if len(raw) < 8:
            return None
        version = raw[0] >> 4
        if version == 3:
            v = VRRPv3(raw)
            adv = v.adv / 100.0
            auth = None
        elif version == 2:
            v = VRRP(raw)
            adv = float(v.adv)
            kind = AUTH_TYPES.get(v.authtype, v.authtype)
            auth = None
            if kind is not None:
                raw = int(v.auth1).to_bytes(4, "big") + int(v.auth2).to_bytes(4, "big")
                auth = {"type": kind, "pass": raw.rstrip(b"\0").decode(errors="replace") if kind == "PASS" else raw.hex()}
        else:
            return None
        addrs = v.addrlist
        if isinstance(addrs, (bytes, bytearray)):
            addrs = [str(ipaddress.IPv4Address(bytes(addrs[i:i + 4]))) for i in range(0, len(addrs) - 3, 4)]
        return {"src": ip.src, "dst": ip.dst, "ttl": ip.ttl, "vrid": int(v.vrid), "priority": int(v.priority),
                "advert_int": adv, "version": int(v.version), "auth": auth, "addresses": [str(a) for a in addrs],
                "family": 4, "checksum_ok": _ipv4_checksum_ok(ip, version)}
    except Exception:   # a truncated or odd packet must not stop the capture
        return None


def _ipv4_checksum_ok(ip, version: int) -> Optional[bool]:
    """``checksum_ok`` of the advert in scapy IPv4 layer ``ip``, read from its bytes (RFC 791 §3.1: IHL in
    32-bit words, total length; the VRRP message is what lies between them, Ethernet padding after it is
    not). None when the packet is shorter than its header says, or its bytes cannot be had."""
    try:
        raw = bytes(ip)
        ihl, total = (raw[0] & 0x0F) * 4, struct.unpack_from("!H", raw, 2)[0]
        if ihl < 20 or total < ihl + 8 or len(raw) < total:
            return None
        message = raw[ihl:total]
        if version == 2:
            return checksum_ok(message)
        return checksum_ok(message, raw[12:20] + struct.pack("!BBH", 0, IPPROTO_VRRP, len(message)))
    except Exception:
        return None


def _decode_ipv6(layer) -> Optional[dict[str, Any]]:
    """A VRRPv3 advert over IPv6 from the bytes of ``layer`` (a scapy layer or payload starting at the IPv6
    header). Read by hand: scapy's VRRPv3 types its address list by the layer under it, and dissected from
    bytes alone (as the IPv4 path does, for packets received before scapy.layers.vrrp was bound) it has none.

    RFC 8200 §3: version (4 bits) | traffic class | flow label, payload length (16), next header, hop limit,
    source (16 bytes), destination (16); no extension header (RFC 5798 §5.1.2: next header 112). RFC 5798
    §5.1: version 3 | type (4 bits each), VRID, priority, count IPvX addr, rsvd (4 bits) | max advert interval
    (12 bits, centiseconds), checksum, then count x 16 bytes of IPv6 addresses."""
    try:
        raw = bytes(layer)
        if len(raw) < 40 or raw[0] >> 4 != 6:
            return None
        plen, nh, hlim = struct.unpack_from("!HBB", raw, 4)
        if nh != IPPROTO_VRRP or len(raw) < 40 + plen:
            return None
        message = raw[40:40 + plen]                 # Ethernet padding or trailing bytes after it are not VRRP
        if len(message) < 8 or message[0] >> 4 != 3:
            return None
        vrid, priority, count, rsvd_adv = struct.unpack_from("!BBBH", message, 1)
        if len(message) < 8 + 16 * count:
            return None
        src, dst = raw[8:24], raw[24:40]
        pseudo = src + dst + struct.pack("!I3xB", len(message), IPPROTO_VRRP)
        return {"src": str(ipaddress.IPv6Address(src)), "dst": str(ipaddress.IPv6Address(dst)), "ttl": hlim,
                "vrid": vrid, "priority": priority, "advert_int": (rsvd_adv & 0x0FFF) / 100.0, "version": 3,
                "auth": None,
                "addresses": [str(ipaddress.IPv6Address(message[i:i + 16])) for i in range(8, 8 + 16 * count, 16)],
                "family": 6, "checksum_ok": checksum_ok(message, pseudo)}
    except Exception:   # a truncated or odd packet must not stop the capture
        return None
