"""Decode one VRRP advert from a captured packet (scapy). Self-contained on purpose: stdlib and scapy
only, no other module of the lab, because the capture sidecar (:mod:`lab.runtime.sidecar`) runs this
very file inside a container.

``advert_int`` is in seconds (VRRPv2 carries whole seconds, VRRPv3 centiseconds: RFC 3768 §5.3.7,
RFC 5798 §5.2.7); ``auth`` is None or ``{"type": "PASS"|"AH"|int, "pass": str}`` (RFC 2338 §5.3.6 /
keepalived's PASS, 8 characters).
"""
from __future__ import annotations

import ipaddress
from typing import Any, Optional

AUTH_TYPES = {0: None, 1: "PASS", 2: "AH"}


def decode_vrrp(packet) -> Optional[dict[str, Any]]:
    """Decode a scapy packet holding an IPv4 VRRP advert; None for anything else.

    Returns ``{"src", "dst", "ttl", "vrid", "priority", "advert_int" (s), "version", "auth",
    "addresses"}``. Raises nothing on malformed input (returns None).
    """
    from scapy.layers.inet import IP
    from scapy.layers.l2 import Ether
    from scapy.layers.vrrp import VRRP, VRRPv3

    if IP not in packet and isinstance(packet, Ether) and packet.type == 0x0800:
        try:                # dissected before scapy.layers.inet was imported: the IP header is in a Raw payload
            packet = IP(bytes(packet.payload))
        except Exception:
            return None
    if IP not in packet or packet[IP].proto != 112:
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
                "advert_int": adv, "version": int(v.version), "auth": auth, "addresses": [str(a) for a in addrs]}
    except Exception:   # a truncated or odd packet must not stop the capture
        return None
