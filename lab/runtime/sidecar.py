"""The capture sidecar: a labelled container on every network of a lab that outlives its process
(``kalab up``), recording every VRRP advert on those networks into the lab's journal for as long as
the lab exists. Every later ``kalab`` command (report, watch, judge) reads them from the journal.

An in-process capture (:mod:`lab.runtime.capture`) dies with the process that started the lab, so a
``kalab up`` lab recorded no adverts at all. The sidecar runs the node image (scapy is in it) and the
same packet socket and decoder as the in-process capture (:mod:`lab.runtime.packet_socket`,
:mod:`lab.runtime.vrrp_decode`, copied in; a hole in the record is a ``capture`` line), holds only the
capabilities a capture needs, runs no keepalived, and starts before any keepalived node, so the first
advert of every master is in the record.

Timestamps: the packet's kernel capture time moved onto the monotonic clock inside the container,
which is the host's monotonic clock on a local engine (containers share the kernel's clocks), the
clock every other event of the lab is on.

What it cannot see: unicast VRRP (``unicast_peer``) between two other containers; a Linux bridge
delivers those frames to their destination's port only. Multicast adverts (224.0.0.18) reach every
port.
"""
from __future__ import annotations

import io
import json
import tarfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import docker

#: the sidecar's role label value (io.kalab.role)
ROLE = "capture"
#: how long the sidecar may take to open its sockets (s): a container start and a Python import
READY_TIMEOUT = 30.0

# Runs inside the sidecar: map each interface to its lab network by address, read `ip proto 112` on each
# through lab.runtime.packet_socket (copied in), append one journal line per advert and one ``capture`` line
# per hole (frames the kernel dropped, a frame that could not be recorded, a socket that failed); say
# "sniffing" once every socket is open.
PROGRAM = r'''
import ipaddress, json, os, select, signal, socket, struct, sys, threading, time
sys.path.insert(0, "/kalab")
from vrrp_decode import decode_vrrp
from packet_socket import PacketSocket
from scapy.layers.l2 import Ether

subnets = json.loads(os.environ["KALAB_CAPTURE_SUBNETS"])
journal = open(os.environ["KALAB_JOURNAL"], "a", buffering=1)
from clock import WallToMono
clock = WallToMono()

def if_addr(itf):
    import fcntl
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        return socket.inet_ntoa(fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", itf.encode()[:15]))[20:24])
    except OSError:
        return None
    finally:
        s.close()

ifaces = {}
for itf in sorted(os.listdir("/sys/class/net")):
    addr = if_addr(itf) if itf != "lo" else None
    for net, cidr in subnets.items():
        if addr and ipaddress.ip_address(addr) in ipaddress.ip_network(cidr):
            ifaces[itf] = net
missing = sorted(set(subnets) - set(ifaces.values()))
if missing:
    print("kalab-capture: no interface on " + ", ".join(missing), flush=True)
    sys.exit(2)

def write(kind, t, data):
    journal.write(json.dumps({"t": t, "kind": kind, "data": data}) + "\n")

socks = {PacketSocket(i): n for i, n in ifaces.items()}
last = {s: time.monotonic() for s in socks}
print("kalab-capture: sniffing " + json.dumps(ifaces), flush=True)
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
while socks:
    ready, _, _ = select.select(list(socks), [], [], 1.0)
    for s in ready:
        step = clock.resample()
        net, t_check = socks[s], time.monotonic()
        try:
            frames, dropped = s.drain(), s.drops()
        except OSError as e:
            write("capture", time.monotonic(), {"network": net, "action": "stopped", "since": last[s],
                                                "reason": "the sidecar's packet socket on %s failed: %s" % (s.iface, e)})
            del socks[s]
            continue
        after = clock.resample()
        if step is not None or after is not None:
            write("capture", time.monotonic(), {"network": net, "action": "lost", "since": last[s],
                                                "reason": "the host's wall clock was stepped by %+.3f s: adverts "
                                                          "received around then may be misdated by that much"
                                                          % ((step or 0) + (after or 0))})
        for wall, data in frames:
            try:
                d = decode_vrrp(Ether(data))
                t = clock.to_mono(wall) if wall is not None else time.monotonic()
                if d is not None:
                    write("advert", t, {"network": net, "path": "sidecar", **d})
                else:
                    write("capture", time.monotonic(), {"network": net, "action": "lost", "since": t,
                                                        "reason": "a frame of IP protocol 112 could not be decoded "
                                                                  "as a VRRP advert (first bytes %s)" % data[:64].hex()})
            except Exception as e:
                write("capture", time.monotonic(), {"network": net, "action": "lost", "since": last[s],
                                                    "reason": "an advert could not be recorded: %r" % (e,)})
        if dropped:
            write("capture", time.monotonic(), {"network": net, "action": "lost", "since": last[s], "dropped": dropped,
                                                "reason": "the kernel dropped %d VRRP frame(s) on %s" % (dropped, s.iface)})
        last[s] = t_check
'''


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def start_sidecar(client: "docker.DockerClient", lab_id: str, labels: dict[str, str], image: str,
                  networks: dict[str, object], subnets: dict[str, object], volume: str, journal_dir: str,
                  journal: str):
    """Start the capture sidecar of a lab and wait until it captures.

    Args:
        client: the engine; lab_id, labels: the lab's (the sidecar carries them, role ``capture``).
        image: the node image; networks: {topology network name: docker Network}; subnets: {name: IPv4Network}.
        volume: the lab's shared volume, mounted at ``journal_dir``; journal: the journal file in it.
    Returns:
        The running container.
    Raises:
        RuntimeError: it did not say it captures within READY_TIMEOUT seconds (its log says why).
    """
    from . import labels as L

    names = list(networks)
    first = networks[names[0]]
    c = client.containers.create(
        image, name=f"kalab-{lab_id}-capture", entrypoint=["python3", "/kalab/capture.py"],
        labels={**labels, L.NODE: "capture", L.ROLE: ROLE}, network=first.name, detach=True,
        cap_drop=["ALL"], cap_add=["NET_RAW", "NET_ADMIN"], mem_limit="128m", pids_limit=64, nano_cpus=500_000_000,
        log_config={"type": "json-file", "config": {"max-size": "1m", "max-file": "2"}},
        volumes={volume: {"bind": journal_dir, "mode": "rw"}},
        environment={"KALAB_CAPTURE_SUBNETS": json.dumps({n: str(s) for n, s in subnets.items()}),
                     "KALAB_JOURNAL": journal, "PYTHONDONTWRITEBYTECODE": "1"})
    try:
        for n in names[1:]:
            networks[n].connect(c)
        here = Path(__file__).parent
        c.put_archive("/", _tar({"kalab/capture.py": PROGRAM.encode(),
                                 "kalab/vrrp_decode.py": (here / "vrrp_decode.py").read_bytes(),
                                 "kalab/packet_socket.py": (here / "packet_socket.py").read_bytes(),
                                 "kalab/clock.py": (here / "clock.py").read_bytes()}))
        c.start()
        _wait_ready(c)
    except BaseException:
        c.remove(force=True)
        raise
    return c


def _wait_ready(c) -> None:
    """Follow the sidecar's log until it says it captures; its log in the error otherwise."""
    said: list[str] = []
    stream = c.logs(stream=True, follow=True)
    timer = threading.Timer(READY_TIMEOUT, stream.close)
    timer.start()
    try:
        buf = b""
        for chunk in stream:
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                said.append(line.decode(errors="replace"))
                if said[-1].startswith("kalab-capture: sniffing"):
                    return
                if said[-1].startswith("kalab-capture:"):
                    raise RuntimeError(f"capture sidecar: {said[-1]}")
    except RuntimeError:
        raise
    except Exception:
        pass
    finally:
        timer.cancel()
        stream.close()
    raise RuntimeError(f"capture sidecar did not start capturing within {READY_TIMEOUT:.0f} s: "
                       f"{' | '.join(said[-5:]) or 'no output'}")
