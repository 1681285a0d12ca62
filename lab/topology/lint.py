"""Lint the configs a lab topology gives its keepalived nodes (pure: renders, then :mod:`lab.kaconf.lint`)."""
from __future__ import annotations

import ipaddress
from typing import Iterable, Optional

from ..kaconf.from_config import from_config
from ..kaconf.lint import LintResult, Member, lint_cluster
from ..kaconf.parse import parse_text
from .render import render_node
from .schema import Topology

__all__ = ["lint_topology"]


def lint_topology(topo: Topology, subnets: dict[str, ipaddress.IPv4Network],
                  rules: Optional[Iterable[str]] = None) -> LintResult:
    """Semantic lint of the configs a lab topology gives its keepalived nodes (no Docker, no keepalived -t).

    Args:
        topo: validated topology.
        subnets: network name -> IPv4Network (placeholders are fine, e.g. 10.213.N.0/24).
        rules: rule ids to apply (default: all of :data:`lab.kaconf.lint.RULES`).
    Returns:
        LintResult whose files are ``<topology>:<node>``. Instances are matched by
        (interface, VRID) as for files; each node's subnets come from its interfaces' networks.
    Raises:
        ConfigError: a node's config_template cannot be rendered. KeyError: unknown rule id.
    """
    members = []
    for node in topo.keepalived_nodes():
        text = render_node(topo, node, subnets)
        kc = from_config(parse_text(text, f"{topo.name}:{node}", config_id=node))
        nets = [subnets[i.network] for i in topo.nodes[node].interfaces.values() if i.network in subnets]
        members.append(Member(f"{topo.name}:{node}", kc, nets))
    return lint_cluster(members, rules)
