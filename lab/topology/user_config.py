"""A node that runs a user's own keepalived.conf unchanged (``config_file``); reads files, no Docker.

The user's file and every file it includes go into the node at their own absolute paths, byte for
byte, so keepalived resolves relative includes as on the user's host (relative to the including
file, keepalived 2.2.7 ``read_conf_file``) and its messages name the user's paths. The lab's
``/etc/keepalived/keepalived.conf`` is then only::

    include /home/me/lb/lb1.conf
    global_defs {
        vrrp_notify_fifo /run/kalab/notify.fifo      # added by keepalived-lab
        vrrp_notify_priority_changes                 # added by keepalived-lab
    }

A second ``global_defs`` block adds to the first (man 5 keepalived.conf: keywords may appear in any
global_defs block), so the user's file is read exactly as written. The config id (``-i``, for
``@lb1`` lines) defaults to the node's name, which is also its host name (keepalived's default id).

The topology's view of the node (its instances, scripts, track files, sync groups) is read from the
same parsed file (:func:`read_node_config`), so the election model, the lint and ``kalab predict``
judge what runs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from ..errors import ConfigError
from ..kaconf.from_config import KeepalivedConfig, from_config
from ..kaconf.parse import dump, parse_file
from .subnet_map import map_text

if TYPE_CHECKING:
    from .subnet_map import SubnetMove

__all__ = ["NodeConfig", "read_node_config", "read_config_files", "wrapper_config", "config_file_digest", "MAX_FILES"]

#: most files one node's config may pull in (a runaway ``include`` glob is a mistake, not a config)
MAX_FILES = 200


@dataclass
class NodeConfig:
    """One node's own keepalived.conf as keepalived will read it.

    Attributes:
        path: the file (absolute). config_id: the id ``@ID`` lines were resolved for.
        files: {absolute path: bytes} the file and every file it includes (what goes into the node).
        parsed: the lab's models of it (instances, scripts, ...). expanded: the config as keepalived
        reads it (includes inlined, definitions and ``@ID`` lines applied), for the judge's record.
        warnings: "file:line: message" for what keepalived would drop or replace while reading it.
    """

    path: Path
    config_id: str
    files: dict[str, bytes]
    parsed: KeepalivedConfig
    expanded: str
    warnings: list[str] = field(default_factory=list)
    #: the user's own bytes where the lab moved subnets (lab.topology.subnet_map), else {}: ``files`` is then
    #: what runs, this what the user wrote
    original: dict[str, bytes] = field(default_factory=dict)


def read_node_config(path: str | Path, config_id: str, base: Optional[Path] = None,
                     moves: Sequence["SubnetMove"] = ()) -> NodeConfig:
    """Read ``path`` (relative to ``base``, default the current directory) for ``config_id``.

    ``moves``: production subnets the lab moves (lab.topology.subnet_map): the addresses inside them are
    rewritten in every file (and nothing else), the rewritten files are what is parsed and what runs, and
    ``original`` keeps the user's bytes.

    Raises:
        ConfigError: the file or an included one cannot be read, or keepalived could not parse it
            (names the file and line, as keepalived would); a file included by an absolute path when
            subnets must be moved (the lab rewrites only the files it copies).
    """
    p = Path(path)
    if not p.is_absolute():
        p = (base or Path.cwd()) / p
    p = p.resolve()
    if p.is_dir():
        raise ConfigError(str(p), None, "a directory: give the keepalived.conf file itself")
    if not p.is_file():
        raise ConfigError(str(p), None, "no such keepalived.conf" + ("" if Path(path).is_absolute() else
                                                                      f" (a relative path is read from {base or Path.cwd()})"))
    cfg = parse_file(p, config_id)
    # a missing include keeps keepalived running without that part: never what a user meant to test
    errors = [pr for pr in cfg.problems if pr.severity == "error" or pr.message.startswith("Config files missing")]
    if errors:
        e = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(e.file, e.line, e.message + more)
    if len(cfg.files) > MAX_FILES:
        raise ConfigError(str(p), None, f"includes {len(cfg.files)} files, more than {MAX_FILES}: is an include "
                                        f"pattern wider than meant?")
    for g in cfg.find_all("global_defs"):
        for s in g.children or []:
            if s.keyword == "vrrp_notify_fifo":
                raise ConfigError(s.file, s.line, "vrrp_notify_fifo: keepalived writes VRRP events to one such fifo, "
                                                  "and keepalived-lab records the node from its own; move yours to "
                                                  "`notify_fifo` (global_defs), which keepalived writes as well")
    files: dict[str, bytes] = {}
    for f in cfg.files:
        fp = Path(f) if Path(f).is_absolute() else (Path.cwd() / f)
        try:
            files[str(fp.resolve())] = fp.read_bytes()
        except OSError as e:
            raise ConfigError(str(fp), None, f"cannot read an included file: {e.strerror}") from None
    original: dict[str, bytes] = {}
    mirror = ""
    if moves:
        mapped = {f: map_text(d.decode("utf-8", "surrogateescape"), moves).encode("utf-8", "surrogateescape")
                  for f, d in files.items()}
        if mapped != files:
            cfg, mirror = _parse_moved(p, config_id, mapped)
            original, files = files, mapped
    parsed = from_config(cfg)
    warnings = [f"{pr.file}:{pr.line}: {pr.message}".removeprefix(mirror) for pr in cfg.problems] + \
               [f"{n.file}:{n.line}: {n.message}".removeprefix(mirror) for n in parsed.notes]
    ids = sorted({m.group(1) for data in files.values()
                  for m in re.finditer(rb"^[ \t]*@\^?([^\s]+)", data, re.M)}, key=bytes.decode)
    if ids and config_id.encode() not in ids:
        warnings.append(f"{p}: no @ID line is for config id {config_id!r} (the files have "
                        f"{', '.join('@' + i.decode() for i in ids)}): check the name, or give FILE@ID")
    expanded = dump(cfg).replace(mirror, "") if mirror else dump(cfg)
    return NodeConfig(p, config_id, files, parsed, expanded, warnings, original)


def _parse_moved(p: Path, config_id: str, mapped: dict[str, bytes]):
    """Parse the rewritten files as keepalived would read them at their own paths: (parsed config, the
    temporary root they were parsed under, to strip from messages). Raises ConfigError for a file the
    rewritten config reads from outside them (an absolute include)."""
    import shutil
    import tempfile
    mirror = tempfile.mkdtemp(prefix="kalab-moved-")
    try:
        for f, data in mapped.items():
            q = Path(mirror + f)
            q.parent.mkdir(parents=True, exist_ok=True)
            q.write_bytes(data)
        cfg = parse_file(Path(mirror + str(p)), config_id)
        outside = [f for f in cfg.files if not str(Path(f).resolve()).startswith(mirror)]
        if outside:
            raise ConfigError(str(p), None, f"includes {outside[0]} by an absolute path, so the lab cannot move its "
                                            f"subnets consistently; use relative includes, or run with --exact on a "
                                            f"host where the configs' subnets are free")
        return cfg, mirror
    finally:
        shutil.rmtree(mirror, ignore_errors=True)


def wrapper_config(path: str | Path, notify_fifo: Optional[str]) -> str:
    """The node's ``/etc/keepalived/keepalived.conf``: ``include <path>``, then the lab's notify lines.

    The include comes first, so keepalived reads the user's ``global_defs`` (``script_user``,
    ``enable_script_security``) before the lab's. The other order changed what keepalived 2.2.7 does on a
    SIGHUP: rereading the lab's block first, it failed to give the notify fifo a script user ("Failed to set
    default user for vrrp_ fifo (null) - ignoring"), then the user's ``script_user root`` ("Error setting
    global script uid/gid"), and dropped the fifo and every tracked vrrp_script ("Unable to set default
    user for vrrp script chk_nginx - removing"): after a reload the lab recorded nothing and the config ran
    without its checks, which the same file alone never does (measured on the example pair)."""
    tail = ""
    if notify_fifo:
        tail = ("global_defs {\n"
                f"    vrrp_notify_fifo {notify_fifo}   # added by keepalived-lab: it records VRRP states from here\n"
                "    vrrp_notify_priority_changes   # added by keepalived-lab\n"
                "}\n")
    return f"include {path}\n{tail}"


def config_file_digest(wrapper: str, nc: NodeConfig, config_path: str = "/etc/keepalived/keepalived.conf"
                       ) -> tuple[list[str], str]:
    """([the files keepalived reads, in order], sha256 hex of their bytes concatenated) as the lab puts them
    into the node: the wrapper at ``config_path``, then the user's files (what ``cat F... | sha256sum`` gives)."""
    import hashlib

    paths = [config_path, *nc.files]
    h = hashlib.sha256(wrapper.encode())
    for f in nc.files:
        h.update(nc.files[f])
    return paths, h.hexdigest()


def read_config_files(t, preread: Optional[dict[str, NodeConfig]] = None) -> list[tuple[tuple, str]]:
    """Read each ``config_file`` node's own keepalived.conf of topology ``t`` and give the node the instances,
    scripts, track files, sync groups and global_defs it declares (``t.node_configs`` keeps what was read).
    Returns the problems as (field path, message), as the loader reports them (file and line of the YAML)."""
    P: list[tuple[tuple, str]] = []
    base = Path(t.source).parent if t.source and not t.source.startswith("<") else Path.cwd()
    for name, spec in t.nodes.items():
        if not spec.config_file:
            continue
        own = [k for k in ("vrrp_instances", "vrrp_scripts", "vrrp_track_files", "vrrp_sync_groups", "global_defs")
               if getattr(spec, k)]
        if own:
            P.append((("nodes", name, own[0]), f"node {name} runs its config_file: its {own[0]} come from that "
                                               f"file; remove them here"))
            continue
        try:
            nc = (preread or {}).get(name) or read_node_config(spec.config_file, spec.config_id or name, base)
        except ConfigError as e:
            P.append((("nodes", name, "config_file"), str(e)))
            continue
        k = nc.parsed
        spec.vrrp_instances = {n: i.model_dump(exclude_unset=True) for n, i in k.instances.items()}
        spec.vrrp_scripts = {n: x.model_dump(exclude_unset=True) for n, x in k.scripts.items()}
        spec.vrrp_track_files = {n: x.model_dump(exclude_unset=True) for n, x in k.track_files.items()}
        spec.vrrp_sync_groups = dict(k.sync_groups)
        spec.global_defs = k.global_defs.model_dump(exclude_unset=True)
        t.node_configs[name] = nc
    return P
