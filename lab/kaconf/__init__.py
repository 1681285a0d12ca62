"""keepalived.conf handling (pure): render from a topology, parse real config text, lint."""
from .render import Facts, lab_facts, render_node, vip_addresses

__all__ = ["Facts", "lab_facts", "render_node", "vip_addresses"]
