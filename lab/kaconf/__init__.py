"""keepalived.conf handling (pure): render from a topology, parse real config text, lint.

render       topology -> keepalived.conf text (templates/keepalived.conf.j2, users' Jinja2 templates)
parse        keepalived.conf text -> tree of statements (keepalived 2.2.7's reader rules)
from_config  tree -> the lab's models (GlobalDefs, VrrpScript, VrrpInstance, ...)
lint         keepalived -t (ktest, in the node image) + semantic rules across a cluster
"""
from .from_config import KeepalivedConfig, from_config, from_text, lab_config
from .parse import Config, Stmt, dump, parse_file, parse_text
from .render import Facts, lab_facts, render_node, vip_addresses

__all__ = ["Facts", "lab_facts", "render_node", "vip_addresses", "Config", "Stmt", "dump", "parse_file",
           "parse_text", "KeepalivedConfig", "from_config", "from_text", "lab_config"]
