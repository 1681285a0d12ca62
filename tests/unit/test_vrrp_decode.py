"""The advert decoder (lab.runtime.vrrp_decode) on packets as the capture receives them.

Found by the cross-check with keepalived's ``advert_sent`` (lab.crosscheck): the first advert a capture
saw was never recorded. scapy dissects a packet when it is received; ``IP`` payloads of protocol 112 are
typed as VRRP only once ``scapy.layers.vrrp`` is imported, and the decoder imported it on its first call,
after the first packet had been dissected as ``Raw``. The decoder must read the advert from the bytes."""
import subprocess
import sys

from scapy.layers.inet import IP
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
