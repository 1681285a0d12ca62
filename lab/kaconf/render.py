"""Render keepalived.conf text from keyword models and facts (pure; Jinja2 templates).

Two paths:
* generated: :func:`render_config` feeds ``templates/keepalived.conf.j2`` with
  one node's :class:`~lab.kaconf.schema.GlobalDefs`, vrrp_scripts, track_files,
  vrrp_instances and sync groups (addresses already resolved);
* user's own file: :func:`render_user_template` renders a Jinja2 template with
  :class:`Facts` (this node's addresses and interface names, peers' addresses,
  each instance's VIPs and VRID).

Nothing here knows the lab topology: :mod:`lab.topology.render` computes the
facts and resolved models for a topology node (``render_node``, ``lab_facts``,
``vip_addresses``) and calls these functions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

import jinja2
import jinja2.sandbox

from ..errors import ConfigError
from .schema import GlobalDefs, VrrpInstance, VrrpScript, VrrpSyncGroup, VrrpTrackFile

__all__ = ["NOTIFY_FIFO", "Facts", "render_config", "render_user_template", "ensure_notify_fifo"]

NOTIFY_FIFO = "/run/kalab/notify.fifo"

#: the most characters a user's template may render (a keepalived.conf is a few kilobytes)
MAX_RENDERED = 1_000_000

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


def render_config(node: str, topology: str, global_defs: GlobalDefs, *,
                  scripts: Mapping[str, VrrpScript] = {}, track_files: Mapping[str, VrrpTrackFile] = {},
                  instances: Mapping[str, VrrpInstance] = {}, sync_groups: Mapping[str, VrrpSyncGroup] = {},
                  notify_fifo: Optional[str] = NOTIFY_FIFO, script_wrapper: Optional[str] = None) -> str:
    """Return keepalived.conf text for one node from its keyword models (``templates/keepalived.conf.j2``).

    Args:
        node: the node's name (in the header comment).
        topology: the topology's name (in the header comment).
        global_defs, scripts, track_files, instances, sync_groups: the node's blocks, by name; every
            address must be literal already (no ``net+host``: the topology layer resolves them).
        notify_fifo: path keepalived writes state changes to (``vrrp_notify_fifo``), None for none.
        script_wrapper: if set (the lab passes ``/usr/local/sbin/kalab-check``), each vrrp_script
            command becomes ``<wrapper> <script name> <command>`` so a fault can force its result.
    Returns:
        the config text (keywords as in man 5 keepalived.conf, keepalived 2.2.7).
    """
    return _env.get_template("keepalived.conf.j2").render(
        node=node, topology=topology, global_defs=global_defs.model_dump(),
        scripts={k: _wrap_script(v.model_dump(), k, script_wrapper) for k, v in scripts.items()},
        track_files={k: v.model_dump() for k, v in track_files.items()},
        instances={k: v.model_dump() for k, v in instances.items()},
        sync_groups={k: v.model_dump() for k, v in sync_groups.items()},
        notify_fifo=notify_fifo, script_wrapper=script_wrapper,
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
        # a user's template is untrusted: the sandbox refuses attribute tricks and caps range() (Jinja2's
        # sandbox); no loader, so {% include %} / {% import %} of other files is refused too
        env = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
        tmpl = env.from_string(text)
        out = tmpl.render(**facts.__dict__, notify_fifo=notify_fifo)
        if len(out) > MAX_RENDERED:
            raise ConfigError(str(path), None, f"the template renders {len(out)} characters, more than {MAX_RENDERED}")
    except jinja2.TemplateSyntaxError as e:
        raise ConfigError(str(path), e.lineno, f"template syntax error: {e.message}") from None
    except jinja2.UndefinedError as e:
        raise ConfigError(str(path), None, f"{e.message}; available: node, topology, interfaces, peers, "
                                           f"instances, subnets, notify_fifo") from None
    except jinja2.sandbox.SecurityError as e:
        raise ConfigError(str(path), None, f"the template does something a keepalived.conf template may not: {e}") from None
    except (jinja2.TemplateError, ArithmeticError, OverflowError, MemoryError, RecursionError, TypeError, ValueError) as e:
        raise ConfigError(str(path), getattr(e, "lineno", None), f"the template fails to render: "
                                                                  f"{type(e).__name__}: {e}") from None
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
