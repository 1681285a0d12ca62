"""keepalived.conf's own language (pure): keyword schema, parse, render, lint.

schema       keepalived's keywords as models (GlobalDefs, VrrpScript, VrrpInstance, ...), parse_vip
parse/       keepalived.conf text -> tree of statements (keepalived 2.2.7's reader rules): lex, stmt, expand,
             reader, tree, write
from_config  tree -> the keyword models (what keepalived keeps, with notes on what it drops)
render       keyword models / facts -> keepalived.conf text (templates/keepalived.conf.j2, users' Jinja2)
ktest_output keepalived -t's exit codes and messages (the Docker runner is lab.runtime.ktest)
lint         semantic rules across a cluster, one rule per module (lint/rules/), keepalived -t injected

Layer rule (tests/unit/test_layers_kaconf.py): this package imports only lab.errors,
lab.timers, lab.priority and itself; never the topology, the lab, the model or Docker.
Rendering a topology node is :mod:`lab.topology.render`.
"""
from .from_config import KeepalivedConfig, from_config, from_text
from .parse import Config, Stmt, dump, parse_file, parse_text
from .render import Facts, render_config

__all__ = ["Facts", "render_config", "Config", "Stmt", "dump", "parse_file", "parse_text", "KeepalivedConfig",
           "from_config", "from_text"]
