"""Render keepalived.conf text from a topology node (pure; Jinja2 templates).

Two paths:
* generated: ``templates/keepalived.conf.j2`` fed with the node's merged
  global_defs, vrrp_scripts, vrrp_instances and sync groups;
* user's own file: ``NodeSpec.config_template`` is a Jinja2 template rendered
  with the same :class:`Facts` (this node's addresses and interface names,
  peers' addresses, each instance's VIPs and VRID).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from ..errors import ConfigError
from ..topology import Topology, parse_vip, resolve_address

NOTIFY_FIFO = "/run/kalab/notify.fifo"

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("lab.kaconf", "templates"),
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
)


def _num(v: float) -> str:
    """Render a number the way keepalived reads it: 1 not 1.0, 0.5 stays 0.5."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _quote(s: str) -> str:
    """Quote a script command when it contains spaces (keepalived's quoted string)."""
    if s.startswith('"') or not any(c.isspace() for c in s):
        return s
    return '"' + s.replace('"', '\\"') + '"'


_env.filters["num"] = _num
_env.filters["quote"] = _quote


@dataclass
class Facts:
    """What a config template may use (all addresses are strings).

    node: this node's name; interfaces: {ifname: {"address", "prefix", "network"}};
    peers: {node: {ifname: address}} for the other keepalived nodes;
    instances: {name: {"vips": [address/prefix ...], "virtual_router_id", "interface"}};
    subnets: {network: "a.b.c.d/n"}.
    """

    node: str
    topology: str
    interfaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    peers: dict[str, dict[str, str]] = field(default_factory=dict)
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    subnets: dict[str, str] = field(default_factory=dict)


def lab_facts(topo: Topology, node: str, subnets: dict[str, ipaddress.IPv4Network]) -> Facts:
    """Compute :class:`Facts` for ``node`` once the lab's subnets are known."""
    hosts = topo.host_numbers()
    f = Facts(node=node, topology=topo.name, subnets={k: str(v) for k, v in subnets.items()})
    for (n, itf), h in hosts.items():
        net_name = topo.nodes[n].interfaces[itf].network
        addr = str(subnets[net_name].network_address + h)
        if n == node:
            f.interfaces[itf] = {"address": addr, "prefix": subnets[net_name].prefixlen, "network": net_name}
        elif topo.nodes[n].kind == "keepalived":
            f.peers.setdefault(n, {})[itf] = addr
    for name, inst in topo.instances(node).items():
        f.instances[name] = {
            "vips": [_resolve_vip(v, subnets) for v in inst.virtual_ipaddress],
            "virtual_router_id": inst.virtual_router_id, "interface": inst.interface,
        }
    return f


def _resolve_vip(entry: str, subnets: dict[str, ipaddress.IPv4Network]) -> str:
    """``lan+200/24 dev eth0`` -> ``10.213.4.200/24 dev eth0`` (options kept in order)."""
    first, *rest = entry.split()
    addr, slash, prefix = first.partition("/")
    return " ".join([f"{resolve_address(addr, subnets)}{slash}{prefix}", *rest])


def vip_addresses(topo: Topology, node: str, instance: str,
                  subnets: dict[str, ipaddress.IPv4Network]) -> list[ipaddress.IPv4Address]:
    """The resolved VIP addresses of one instance on one node."""
    inst = topo.instances(node)[instance]
    return [resolve_address(parse_vip(v)["address"], subnets) for v in inst.virtual_ipaddress]


def render_node(topo: Topology, node: str, subnets: dict[str, ipaddress.IPv4Network],
                notify_fifo: str | None = NOTIFY_FIFO, script_wrapper: str | None = None) -> str:
    """Return the keepalived.conf text for ``node``.

    Args:
        topo: validated topology.
        node: a keepalived node's name.
        subnets: network name -> allocated IPv4Network.
        notify_fifo: path keepalived writes state changes to (``vrrp_notify_fifo``), None for none.
        script_wrapper: if set (the lab passes ``/usr/local/sbin/kalab-check``), each vrrp_script
            command becomes ``<wrapper> <script name> <command>`` so a fault can force its result
            (lab.nemesis.services); a user's own config_template is never wrapped.
    Raises:
        ConfigError: a user template is missing or fails to render (names the file and line).
    """
    spec = topo.nodes[node]
    facts = lab_facts(topo, node, subnets)
    if spec.config_template:
        base = Path(topo.source).parent if topo.source and topo.source != "<builder>" else Path.cwd()
        return render_user_template(base / spec.config_template, facts, notify_fifo)
    instances = {}
    for name, inst in topo.instances(node).items():
        d = inst.model_dump()
        d["virtual_ipaddress"] = [_resolve_vip(v, subnets) for v in inst.virtual_ipaddress]
        d["unicast_src_ip"] = str(resolve_address(inst.unicast_src_ip, subnets)) if inst.unicast_src_ip else None
        d["unicast_peer"] = [str(resolve_address(p, subnets)) for p in inst.unicast_peer]
        instances[name] = d
    return _env.get_template("keepalived.conf.j2").render(
        node=node, topology=topo.name, global_defs=topo.global_defs_for(node).model_dump(),
        scripts={k: _wrap_script(v.model_dump(), k, script_wrapper) for k, v in topo.scripts(node).items()},
        track_files={k: v.model_dump() for k, v in topo.track_files(node).items()},
        instances=instances, sync_groups={k: v.model_dump() for k, v in topo.sync_groups(node).items()},
        notify_fifo=notify_fifo,
    )


def _wrap_script(d: dict[str, Any], name: str, wrapper: str | None) -> dict[str, Any]:
    """Prefix a vrrp_script's command with ``wrapper name`` (outer quotes of the command dropped)."""
    if wrapper:
        cmd = d["script"][1:-1] if d["script"].startswith('"') and d["script"].endswith('"') else d["script"]
        d["script"] = f"{wrapper} {name} {cmd}"
    return d


def render_user_template(path: Path, facts: Facts, notify_fifo: str | None) -> str:
    """Render a user's keepalived.conf (Jinja2) with ``facts``; variables: the Facts fields and ``notify_fifo``."""
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(str(path), None, f"cannot read config template: {e.strerror}") from None
    try:
        tmpl = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True).from_string(text)
        out = tmpl.render(**facts.__dict__, notify_fifo=notify_fifo)
    except jinja2.TemplateSyntaxError as e:
        raise ConfigError(str(path), e.lineno, f"template syntax error: {e.message}") from None
    except jinja2.UndefinedError as e:
        raise ConfigError(str(path), None, f"{e.message}; available: node, topology, interfaces, peers, "
                                           f"instances, subnets, notify_fifo") from None
    return ensure_notify_fifo(out, notify_fifo, str(path))


def ensure_notify_fifo(text: str, notify_fifo: str | None, source: str = "<config>") -> str:
    """Make sure keepalived writes state and priority changes where the lab reads them.

    ``vrrp_notify_fifo <notify_fifo>`` is added to the global_defs block (or a global_defs
    block is prepended); a global ``notify_fifo`` of the user's stays, keepalived writes
    VRRP events to both (man 5 keepalived.conf, global_defs). Unless the config already
    says, ``vrrp_notify_priority_changes`` is added too, so every change of effective
    priority reaches the history as ``MASTER_PRIORITY``/``BACKUP_PRIORITY``.

    Raises:
        ConfigError: the config sets its own ``vrrp_notify_fifo`` to another path (names
            ``source`` and the line; the fix is ``vrrp_notify_fifo {{ notify_fifo }}``).
    """
    import re

    if not notify_fifo:
        return text
    lines = []
    own = re.search(r"^\s*vrrp_notify_fifo\s+(\S+)", text, re.M)
    if own and own.group(1) != notify_fifo:
        raise ConfigError(source, text.count("\n", 0, own.start(1)) + 1,
                          f"vrrp_notify_fifo {own.group(1)}: keepalived-lab reads VRRP state changes from its own "
                          f"fifo; write `vrrp_notify_fifo {{{{ notify_fifo }}}}` in the template (or drop the line)")
    if not own:
        lines.append(f"vrrp_notify_fifo {notify_fifo}")
    if not re.search(r"^\s*(vrrp_)?notify_priority_changes\b", text, re.M):
        lines.append("vrrp_notify_priority_changes")
    if not lines:
        return text
    block = "\n" + "".join(f"    {ln}   # added by keepalived-lab\n" for ln in lines)
    m = re.search(r"^\s*global_defs\s*\{", text, re.M)
    if m:
        return text[:m.end()] + block + text[m.end():]
    return "global_defs {" + block + "}\n" + text
