"""A topology node's keepalived.conf: the lab's facts, resolved addresses, then :mod:`lab.kaconf.render` (pure).

The glue between the lab schema and keepalived's language: resolves the lab's
``net+host`` addresses with the subnets a running lab allocated, computes the
:class:`~lab.kaconf.render.Facts` a user's template may use, and hands plain
keyword models to :func:`lab.kaconf.render.render_config` (or renders the
node's ``config_template``). :func:`lab_config` parses the result back into
keyword models (how the election model reads a node with its own template).
"""
from __future__ import annotations

import ipaddress
from pathlib import Path

from ..errors import ConfigError

from ..kaconf.from_config import KeepalivedConfig, from_text
from ..kaconf.render import NOTIFY_FIFO, Facts, render_config, render_user_template
from ..kaconf.schema import parse_vip
from .schema import Topology, resolve_address

__all__ = ["lab_facts", "vip_addresses", "render_node", "lab_config"]


def lab_facts(topo: Topology, node: str, subnets: dict[str, ipaddress.IPv4Network]) -> Facts:
    """Compute :class:`Facts` for ``node`` once the lab's subnets are known.

    Args:
        topo: validated topology; node: one of its node names.
        subnets: network name -> allocated IPv4Network (every network the topology declares).
    Raises:
        KeyError: a network of the topology has no subnet in ``subnets``.
    """
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
    """The resolved VIP addresses of one instance on one node (KeyError: no such node or instance)."""
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
    if spec.config_file:                # run as it is: the lab's notify lines, then an include of the user's file
        from .user_config import wrapper_config
        nc = topo.node_configs.get(node)
        if nc is None:
            raise ConfigError(str(topo.source), None, f"node {node}: config_file {spec.config_file!r} was not read "
                                                      f"(load the topology with lab.topology.load or validate)")
        return wrapper_config(nc.path, notify_fifo)
    if spec.config_template:
        base = Path(topo.source).parent if topo.source and topo.source != "<builder>" else Path.cwd()
        path = (base / spec.config_template).resolve()
        if base.resolve() not in path.parents:
            raise ConfigError(str(topo.source), None, f"node {node}: config_template {spec.config_template!r} is "
                              f"outside the topology's folder {base.resolve()}; put the template beside the topology")
        return render_user_template(path, lab_facts(topo, node, subnets), notify_fifo)
    facts = lab_facts(topo, node, subnets)
    instances = {}
    for name, inst in topo.instances(node).items():
        instances[name] = inst.model_copy(update={
            "virtual_ipaddress": [_resolve_vip(v, subnets) for v in inst.virtual_ipaddress],
            "unicast_src_ip": str(resolve_address(inst.unicast_src_ip, subnets)) if inst.unicast_src_ip else None,
            "unicast_peer": [str(resolve_address(p, subnets)) for p in inst.unicast_peer],
        })
    return render_config(node, topo.name, topo.global_defs_for(node), scripts=topo.scripts(node),
                         track_files=topo.track_files(node), instances=instances,
                         sync_groups=topo.sync_groups(node), notify_fifo=notify_fifo, script_wrapper=script_wrapper)


def lab_config(topo: Topology, node: str, subnets: dict[str, ipaddress.IPv4Network]) -> KeepalivedConfig:
    """The models of the keepalived.conf the lab gives ``node`` (generated, or the user's template).

    This is how the election model reads a node that uses ``config_template``:
    the template is rendered with the lab's facts and parsed back.
    Raises: ConfigError as :func:`render_node`.
    """
    if topo.nodes[node].config_file and node in topo.node_configs:
        return topo.node_configs[node].parsed
    text = render_node(topo, node, subnets)
    return from_text(text, f"<{topo.name}:{node}>", config_id=node)
