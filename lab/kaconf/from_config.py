"""Turn a parsed keepalived.conf (:mod:`lab.kaconf.parse`) into the lab's models (pure).

``from_config(parse_text(text))`` gives :class:`KeepalivedConfig`: the
:class:`~lab.kaconf.schema.GlobalDefs`, :class:`~lab.kaconf.schema.VrrpScript`,
:class:`~lab.kaconf.schema.VrrpTrackFile`, :class:`~lab.kaconf.schema.VrrpInstance` and
:class:`~lab.kaconf.schema.VrrpSyncGroup` the election model needs, so a user's own
file is enough to predict who should be master.

Where keepalived 2.2.7 itself drops or replaces a value while reading the
file, so does this module, and it says so in ``notes`` (each with file and line):

* a ``vrrp_script`` whose ``script`` yields no command (e.g. ``script"/x.sh"``,
  no blank after the keyword) is removed, and instances' ``track_script``
  entries naming a missing script are ignored ("track script X not found,
  ignoring...");
* a value outside keepalived's range is ignored and the default kept
  (e.g. ``priority 300`` -> 100: "Priority not valid! ... Using default 100");
* ``vrrp_script`` ``interval``/``timeout`` must be whole seconds 1..4294.

What keepalived decides later at run time (vrrp_strict forcing state BACKUP
below priority 255, sync groups zeroing tracking weights) is *not* applied
here: the models keep what the file says, and the lint rules
(:mod:`lab.kaconf.lint`) and the election model interpret it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from pydantic import ValidationError

from .schema import GlobalDefs, VrrpInstance, VrrpScript, VrrpSyncGroup, VrrpTrackFile, parse_vip
from .parse import Config, ParseProblem, Stmt, parse_text

__all__ = ["KeepalivedConfig", "from_config", "from_text"]

TRUE = {"on", "true", "yes"}
FALSE = {"off", "false", "no"}


@dataclass
class KeepalivedConfig:
    """The lab's view of one keepalived.conf.

    ``blocks`` maps ``("vrrp_instance", "VI_1")`` (also ``vrrp_script``,
    ``track_file``, ``vrrp_sync_group``, ``("global_defs", "")``) to the parsed
    block, for locations; ``notes`` are what was dropped or replaced.
    """

    global_defs: GlobalDefs
    scripts: dict[str, VrrpScript] = field(default_factory=dict)
    track_files: dict[str, VrrpTrackFile] = field(default_factory=dict)
    instances: dict[str, VrrpInstance] = field(default_factory=dict)
    sync_groups: dict[str, VrrpSyncGroup] = field(default_factory=dict)
    blocks: dict[tuple[str, str], Stmt] = field(default_factory=dict)
    notes: list[ParseProblem] = field(default_factory=list)
    config: Optional[Config] = None

    @property
    def source(self) -> str:
        return self.config.source if self.config else "<text>"

    def stmt(self, kind: str, name: str, keyword: Optional[str] = None) -> Optional[Stmt]:
        """The block ``kind name`` or its child ``keyword`` (last one), for file/line in messages."""
        b = self.blocks.get((kind, name))
        if b is None or keyword is None:
            return b
        return b.find(keyword)


def _bool_arg(s: Stmt) -> bool:
    """A flag keyword with an optional <BOOL> (man 5 keepalived.conf, PARAMETER SYNTAX)."""
    if not s.args:
        return True
    a = s.args[0].lower()
    return a in TRUE or a not in FALSE


def _tracks(block: Optional[Stmt]) -> list[dict[str, Any]]:
    out = []
    for c in (block.children or []) if block is not None else []:
        d: dict[str, Any] = {"name": c.keyword}
        rest = c.args
        if len(rest) >= 2 and rest[0] == "weight":
            try:
                d["weight"] = int(rest[1])
            except ValueError:
                pass
            if len(rest) >= 3 and rest[2] == "reverse":
                d["reverse"] = True
        out.append(d)
    return out


class _Builder:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.notes: list[ParseProblem] = []

    def note(self, s: Stmt, msg: str, severity: str = "warning") -> None:
        self.notes.append(ParseProblem(s.file, s.line, msg, severity))

    def validated(self, model, data: dict[str, Any], where: dict[str, Stmt], block: Stmt):
        """Validate ``data``; drop each bad field (noting it, like keepalived ignores it) and retry."""
        for _ in range(len(data) + 1):
            try:
                return model.model_validate(data)
            except ValidationError as e:
                bad = {str(err["loc"][0]) for err in e.errors() if err["loc"]}
                if not bad or not bad & set(data):
                    self.note(block, f"{block.keyword} {block.name or ''}: {e.errors()[0]['msg']}", "error")
                    return None
                for k in bad & set(data):
                    s = where.get(k, block)
                    msg = next(err["msg"] for err in e.errors() if err["loc"] and str(err["loc"][0]) == k)
                    self.note(s, f"{k} {data[k]!r} ignored ({msg}); keepalived keeps its default", "error")
                    data.pop(k)
        return None

    # ---- global_defs
    def global_defs(self) -> GlobalDefs:
        data: dict[str, Any] = {}
        where: dict[str, Stmt] = {}
        blocks = self.cfg.find_all("global_defs")
        for b in blocks:
            for c in b.children or []:
                k = c.keyword
                where[k] = c
                if k == "notification_email":
                    data[k] = [e.keyword for e in c.children or []] + list(c.args)
                elif k in ("vrrp_skip_check_adv_addr", "vrrp_strict", "enable_script_security"):
                    data[k] = _bool_arg(c) if k != "vrrp_strict" else True
                elif k == "vrrp_iptables":
                    data[k] = " ".join(c.args) if c.args else True
                elif k in ("script_user",):
                    data[k] = " ".join(c.args)
                elif k in ("router_id", "notification_email_from", "smtp_server"):
                    if c.args:
                        data[k] = c.args[0] if k != "smtp_server" else " ".join(c.args)
                elif k in ("smtp_connect_timeout",):
                    data[k] = _num(c.args[0]) if c.args else None
                elif k in ("vrrp_garp_interval", "vrrp_gna_interval", "vrrp_startup_delay"):
                    data[k] = _num(c.args[0]) if c.args else None
                elif k == "notify_fifo" and c.args:
                    data[k] = c.args[0]
        fake = blocks[-1] if blocks else Stmt("global_defs", [], [], self.cfg.source, 0)
        return self.validated(GlobalDefs, data, where, fake) or GlobalDefs()

    # ---- vrrp_script
    def script(self, b: Stmt) -> Optional[VrrpScript]:
        data: dict[str, Any] = {}
        where: dict[str, Stmt] = {}
        for c in b.children or []:
            k = c.keyword
            where[k] = c
            if k == "script":
                argv = c.script_argv()
                data[k] = c.args[0] if argv and c.args else ""
            elif k in ("interval", "timeout", "rise", "fall"):
                data[k] = _num(c.args[0]) if c.args else None
            elif k == "weight" and c.args:
                data["weight"] = _num(c.args[0])
                data["reverse"] = len(c.args) > 1 and c.args[1] == "reverse"
            elif k == "init_fail":
                data[k] = True
            elif k == "user":
                data[k] = " ".join(c.args)
        if not data.get("script"):
            self.note(b, f"No script set for vrrp_script {b.name} - removing", "error")
            return None
        for k in ("interval", "timeout"):
            if k in data and not (isinstance(data[k], int) and 1 <= data[k] <= 4294):
                self.note(where[k], f"({b.name}): vrrp script {k} '{data[k]}' must be whole seconds 1..4294 "
                                    f"- ignoring", "error")
                data.pop(k)
        return self.validated(VrrpScript, {k: v for k, v in data.items() if v is not None}, where, b)

    # ---- track_file
    def track_file(self, b: Stmt) -> Optional[VrrpTrackFile]:
        data: dict[str, Any] = {}
        where: dict[str, Stmt] = {}
        for c in b.children or []:
            where[c.keyword] = c
            if c.keyword == "file" and c.args:
                data["file"] = c.args[0]
            elif c.keyword == "weight" and c.args:
                data["weight"] = _num(c.args[0])
                data["reverse"] = len(c.args) > 1 and c.args[1] == "reverse"
            elif c.keyword == "init_file":
                data["init_file"] = True
                for a in c.args:
                    if a == "overwrite":
                        data["overwrite"] = True
                    else:
                        data["init_value"] = _num(a)
        if "file" not in data:
            self.note(b, f"track_file {b.name} has no file - removing", "error")
            return None
        return self.validated(VrrpTrackFile, data, where, b)

    # ---- vrrp_instance
    def instance(self, b: Stmt, scripts: dict[str, VrrpScript]) -> Optional[VrrpInstance]:
        data: dict[str, Any] = {}
        where: dict[str, Stmt] = {}
        for c in b.children or []:
            k = c.keyword
            where[k] = c
            a0 = c.args[0] if c.args else None
            if k == "state" and a0:
                data[k] = a0.upper() if a0.upper() in ("MASTER", "BACKUP") else a0
            elif k in ("interface", "unicast_src_ip") and a0:
                data[k] = a0
            elif k in ("virtual_router_id", "priority", "version") and a0:
                data[k] = _num(a0)
            elif k in ("advert_int", "preempt_delay", "garp_master_delay") and a0:
                data[k] = _num(a0)
            elif k == "nopreempt":
                data["nopreempt"] = True
            elif k == "preempt":
                data["nopreempt"] = False
            elif k == "authentication":
                auth = {x.keyword: (x.args[0] if x.args else "") for x in c.children or []}
                data[k] = {kk: v for kk, v in auth.items() if kk in ("auth_type", "auth_pass")}
            elif k == "virtual_ipaddress":
                vips = []
                for v in c.children or []:
                    entry = " ".join(v.words)
                    try:
                        parse_vip(entry)
                        vips.append(entry)
                    except ValueError as e:
                        self.note(v, f"virtual_ipaddress {entry!r} ignored: {e}", "error")
                data[k] = vips
            elif k == "unicast_peer":
                data[k] = [p.keyword for p in c.children or []]
            elif k in ("track_script", "track_interface", "track_file"):
                data[k] = _tracks(c)
            elif k in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify") and a0:
                data[k] = a0
            elif k == "smtp_alert":
                data[k] = _bool_arg(c)
        kept = []
        for t in data.get("track_script", []):
            if t["name"] in scripts:
                kept.append(t)
            else:
                self.note(where["track_script"], f"({b.name}) track script {t['name']} not found, ignoring...")
        if "track_script" in data:
            data["track_script"] = kept
        if "priority" in data and not (isinstance(data["priority"], int) and 1 <= data["priority"] <= 255):
            self.note(where["priority"], f"({b.name}) Priority not valid! must be between 1 & 255. "
                                         f"Using default 100", "error")
            data.pop("priority")
        return self.validated(VrrpInstance, data, where, b)

    # ---- vrrp_sync_group
    def sync_group(self, b: Stmt, instances: dict[str, VrrpInstance]) -> Optional[VrrpSyncGroup]:
        data: dict[str, Any] = {}
        where: dict[str, Stmt] = {}
        for c in b.children or []:
            where[c.keyword] = c
            if c.keyword == "group":
                data["group"] = [g.keyword for g in c.children or []]
            elif c.keyword in ("track_script", "track_interface", "track_file"):
                data[c.keyword] = _tracks(c)
            elif c.keyword in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify") and c.args:
                data[c.keyword] = c.args[0]
            elif c.keyword == "smtp_alert":
                data["smtp_alert"] = _bool_arg(c)
        for m in data.get("group", []):
            if m not in instances:
                self.note(where.get("group", b), f"vrrp_sync_group {b.name}: no vrrp_instance {m}", "error")
        return self.validated(VrrpSyncGroup, data, where, b)


def _num(s: str) -> Any:
    """'3' -> 3, '0.5' -> 0.5, anything else unchanged (the model then rejects it)."""
    try:
        return int(s)
    except (TypeError, ValueError):
        try:
            return float(s)
        except (TypeError, ValueError):
            return s


def from_config(cfg: Config) -> KeepalivedConfig:
    """Build the lab's models from a parsed config (see the module docstring for what is dropped).

    Args:
        cfg: result of :func:`lab.kaconf.parse.parse_text` / ``parse_file``.
    Returns:
        :class:`KeepalivedConfig`; never raises for bad values (they become ``notes``).
    """
    bld = _Builder(cfg)
    out = KeepalivedConfig(global_defs=bld.global_defs(), config=cfg)
    for g in cfg.find_all("global_defs"):
        out.blocks[("global_defs", "")] = g
    for b in cfg.statements:
        if b.keyword == "vrrp_script" and b.name:
            out.blocks[("vrrp_script", b.name)] = b
            s = bld.script(b)
            if s is not None:
                out.scripts[b.name] = s
        elif b.keyword in ("track_file", "vrrp_track_file") and b.name and b.children is not None:
            out.blocks[("track_file", b.name)] = b
            f = bld.track_file(b)
            if f is not None:
                out.track_files[b.name] = f
    for b in cfg.find_all("vrrp_instance"):
        if not b.name:
            continue
        out.blocks[("vrrp_instance", b.name)] = b
        i = bld.instance(b, out.scripts)
        if i is not None:
            out.instances[b.name] = i
    for b in cfg.find_all("vrrp_sync_group"):
        if not b.name:
            continue
        out.blocks[("vrrp_sync_group", b.name)] = b
        g = bld.sync_group(b, out.instances)
        if g is not None:
            out.sync_groups[b.name] = g
    out.notes = bld.notes
    return out


def from_text(text: str, source: str = "<text>", config_id: Optional[str] = None) -> KeepalivedConfig:
    """``from_config(parse_text(text, source))``."""
    return from_config(parse_text(text, source, config_id=config_id))
