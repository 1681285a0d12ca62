"""Rogue VRRP adverts sent with scapy from a lab container (the target, usually a client node).

The adverts go only onto the lab network of the instance's interface. Defaults copy the real
instance (VRID, VIPs, version, advert interval, authentication), so each parameter given makes
one thing wrong on purpose:

* ``priority=255`` / a higher priority: a MASTER that receives a higher-priority advert becomes
  BACKUP (RFC 3768 §6.4.3); the rogue takes mastership and the real routers release the VIP.
* ``priority=0``: "the master stopped"; a BACKUP sets its master down timer to the skew time
  (RFC 3768 §6.4.2) and becomes MASTER unless a real advert arrives first.
* ``auth_pass=`` a wrong password, ``vrid=`` another VRID, ``version=`` the other version,
  ``advert_int=`` another interval: RFC 3768 §7.1 says the receiver MUST discard such packets
  (keepalived logs them).
"""
from __future__ import annotations

from ..errors import LabError
from .base import MARKER_DIR, Fault, register


@register
class RogueAdvert(Fault):
    kind = "rogue"
    summary = ("send forged adverts from the node: priority=P [instance=I vrid= version= advert_int= "
               "auth_pass= auth_type= interval= count= dst=]")
    needs = ("raw_sockets",)

    def __init__(self, lab, target, *, priority: int = 255, instance: str = "", vrid: int = 0, version: int = 0,
                 advert_int: float = 0.0, auth_type: str = "", auth_pass: str = "", interval: float = 0.0,
                 count: int = 0, dst: str = "", addresses: str = "", **kw):
        topo = lab.topology
        instance = instance or topo.instance_names()[0]
        owners = [n for n in topo.keepalived_nodes() if instance in topo.instances(n)]
        if not owners:
            raise LabError(f"rogue: no VRRP instance {instance!r}; instances: {', '.join(topo.instance_names())}")
        cfg = topo.instances(owners[0])[instance]
        net = topo.nodes[owners[0]].interfaces[cfg.interface].network
        iface = next((i for i, s in topo.nodes[target].interfaces.items() if s.network == net), None)
        if iface is None:
            raise LabError(f"rogue: node {target} has no interface on network {net!r} of instance {instance}")
        if not 0 <= int(priority) <= 255:
            raise LabError(f"rogue: priority must be 0..255, got {priority}")
        auth = cfg.authentication
        kw.pop("iface", None)                  # rebuilt from a marker: recomputed below
        super().__init__(
            lab, target, priority=int(priority), instance=instance, vrid=int(vrid or cfg.virtual_router_id),
            version=int(version or cfg.version or 2), advert_int=float(advert_int or cfg.advert_int),
            auth_type=auth_type or ("pass" if auth and auth.auth_type == "PASS" else "none"),
            auth_pass=auth_pass or (auth.auth_pass if auth else ""), interval=float(interval or cfg.advert_int),
            count=int(count), dst=dst or "224.0.0.18",
            addresses=addresses or ",".join(str(a) for a in lab.vips(instance)), iface=iface, **kw)

    def model_inputs(self, action: str):
        """Forged adverts that RFC 3768 §7.1 says a receiver MUST discard (wrong VRID, version, advert
        interval in v2, or authentication) change nothing; a well-formed forged advert from a
        non-member (priority 255, 0, or any other) has no rule in the model yet."""
        p, topo = self.params, self.lab.topology
        owners = [n for n in topo.keepalived_nodes() if p["instance"] in topo.instances(n)]
        cfg = topo.instances(owners[0])[p["instance"]]
        auth = cfg.authentication
        real_auth = ("pass" if auth and auth.auth_type == "PASS" else "none", auth.auth_pass[:8] if auth else "")
        forged_auth = (p["auth_type"], p["auth_pass"][:8] if p["auth_type"] == "pass" else "")
        if forged_auth[0] == "none":
            forged_auth = ("none", "")
        if real_auth[0] == "none":
            real_auth = ("none", "")
        if p["vrid"] != cfg.virtual_router_id or p["version"] != (cfg.version or 2) or forged_auth != real_auth \
                or ((cfg.version or 2) == 2 and float(p["advert_int"]) != float(cfg.advert_int)):
            return []
        if int(p.get("count") or 0) > 0:
            return None
        return [{"input": "rogue", "instance": p["instance"], "priority": int(p["priority"]),
                 "active": action == "apply"}]

    def unmodelled(self, action: str) -> str:
        return (f"forged adverts that stop by themselves after count={self.params['count']}: the model has no "
                f"input for when they stop")

    @property
    def _pidfile(self) -> str:
        return f"{MARKER_DIR}/{self.name}.pid"

    def _apply(self) -> str:
        p = self.params
        self.node().exec(["kalab-rogue", "--iface", p["iface"], "--dst", p["dst"], "--vrid", str(p["vrid"]),
                          "--priority", str(p["priority"]), "--version", str(p["version"]),
                          "--advert-int", f"{p['advert_int']:g}", "--addresses", p["addresses"],
                          "--auth-type", p["auth_type"], "--auth-pass", p["auth_pass"],
                          "--interval", f"{p['interval']:g}", "--count", str(p["count"]),
                          "--pidfile", self._pidfile, "--daemon"], check=True)
        return (f"VRRPv{p['version']} vrid {p['vrid']} priority {p['priority']} advert_int {p['advert_int']:g} "
                f"auth {p['auth_type']}{':' + p['auth_pass'] if p['auth_pass'] else ''} every {p['interval']:g} s "
                f"to {p['dst']}")

    def _heal(self) -> str:
        node = self.node()
        if node.status() != "running":
            return "node not running"
        r = node.exec(f"[ -e {self._pidfile} ] && kill $(cat {self._pidfile}) && echo stopped; true")
        return "sender stopped" if "stopped" in r.output else "sender had finished"
