"""Load a topology: YAML with line numbers, validation with every problem named, lookup by name (pure).

Errors: :class:`lab.errors.TopologyError` naming the file, line, field path,
bad value and what is allowed. Unknown fields are errors.
"""
from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Optional, Union

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import TopologyError, yaml_problem
from ..kaconf.schema import CONTROL_AT, LAB_REF, GlobalDefs, VrrpInstance, VrrpScript, VrrpTrackFile, parse_vip
from .schema import Topology

__all__ = ["validate", "load", "find"]


#: a Docker container / network name (and a host name): docker's own rule, at most 63 characters
DOCKER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
#: a Linux interface name (IFNAMSIZ 16 with the terminating NUL)
IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")

#: the largest topology file read (bytes)
MAX_BYTES = 1 * 2**20

#: the most YAML nodes a topology may expand to (aliases counted each time they are used)
MAX_NODES = 20_000


def _check_shape(root, source: str) -> None:
    """Refuse a YAML document that expands to more than MAX_NODES nodes (an alias bomb) or that has a
    key twice in one mapping (YAML would keep the last one silently: a node would vanish).

    Raises TopologyError naming the line."""
    if root is None:
        return
    sizes: dict[int, int] = {}
    stack = [(root, False)]
    while stack:                                   # sizes bottom-up, each node once (aliases share nodes)
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        kids = ([v for kv in node.value for v in kv] if isinstance(node, yaml.MappingNode)
                else list(node.value) if isinstance(node, yaml.SequenceNode) else [])
        if not done:
            stack.append((node, True))
            stack.extend((k, False) for k in kids if id(k) not in sizes)
            continue
        sizes[id(node)] = 1 + sum(sizes.get(id(k), 1) for k in kids)
        if sizes[id(node)] > MAX_NODES:
            raise TopologyError(source, [("", node.start_mark.line + 1, f"the YAML expands to more than {MAX_NODES} "
                                           f"values (aliases used over and over?); a topology is far smaller")])
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, _ in node.value:
                key = str(k.value)
                if key in seen:
                    raise TopologyError(source, [("", k.start_mark.line + 1, f"key {key!r} appears twice in one "
                                                  f"mapping (first at line {seen[key]}); YAML would drop the first")])
                seen[key] = k.start_mark.line + 1


def _line_map(text: str) -> dict[tuple, int]:
    """Map YAML key paths to 1-based line numbers, for error messages."""
    out: dict[tuple, int] = {}

    def walk(node, path):
        out.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                p = path + (str(k.value),)
                out[p] = k.start_mark.line + 1
                walk(v, p)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,))

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return out
    if root is not None:
        walk(root, ())
    return out


def _line_for(lines: dict[tuple, int], loc: tuple) -> int | None:
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return None


def _unwrap(ann: Any) -> Any:
    """Optional[X] / Union[X, None] -> X (the first pydantic model among the union members, if any)."""
    import typing

    if typing.get_origin(ann) is Union:
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), args[0] if args else ann)
    return ann


def _model_at(model: Any, loc: tuple) -> Any:
    """The pydantic model class that owns the fields at ``loc`` below ``model`` (None if not a model)."""
    import typing

    cur: Any = _unwrap(model)
    for part in loc:
        if isinstance(cur, type) and issubclass(cur, BaseModel):
            f = cur.model_fields.get(str(part))
            if f is None:
                return None
            cur = _unwrap(f.annotation)
        elif typing.get_origin(cur) in (dict, list):
            cur = _unwrap(typing.get_args(cur)[-1])
        else:
            return None
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


# which model validates the free-form dicts of a topology (shared and per-node)
_DICT_MODELS = {"vrrp_instances": "VrrpInstance", "vrrp_scripts": "VrrpScript",
                "vrrp_track_files": "VrrpTrackFile", "global_defs": "GlobalDefs"}


def _fmt_pydantic(err: ValidationError, prefix: tuple = (), model: Any = None) -> list[tuple[tuple, str]]:
    """Turn pydantic errors into (field path, message) with the bad value and what is allowed."""
    import difflib

    out = []
    for e in err.errors():
        rel = tuple(x for x in e["loc"] if not (isinstance(x, str) and x.startswith("function-")))
        msg = e["msg"]
        m = CONTROL_AT.match(msg.removeprefix("Value error, "))
        if m:                  # a control character deep inside a dict field: point at its own line
            rel += tuple(int(p) if p.isdigit() else p for p in m["path"].split("."))
        loc = prefix + rel
        if e["type"] == "extra_forbidden":
            owner = _model_at(model, rel[:-1]) if model is not None else None
            if owner is None:
                owner = _owner_by_path(loc[:-1])
            if owner is not None:
                allowed = sorted(owner.model_fields)
                close = difflib.get_close_matches(str(rel[-1]), allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                msg = f"unknown field; {hint}allowed: {', '.join(allowed)}"
            else:
                msg = "unknown field (check spelling; the keywords are in lab/kaconf/schema.py)"
        elif "input" in e and not isinstance(e["input"], (dict, list)):
            msg = f"{msg} (got {e['input']!r})"
        out.append((loc, msg))
    return out


def _owner_by_path(path: tuple) -> Any:
    """Model for a path such as ('nodes', 'a', 'vrrp_instances', 'VI_1') by the dict it sits in."""
    names = {"VrrpInstance": VrrpInstance, "VrrpScript": VrrpScript, "VrrpTrackFile": VrrpTrackFile,
             "GlobalDefs": GlobalDefs}
    for i in range(len(path) - 1, -1, -1):
        key = path[i]
        if key in _DICT_MODELS:
            rest = path[i + 1:]
            cls = names[_DICT_MODELS[key]]
            if key == "global_defs":
                return _model_at(cls, rest) if rest else cls
            return _model_at(cls, rest[1:]) if len(rest) > 1 else cls
    return None


def validate(data: Any, source: str = "<builder>", text: str | None = None,
             node_configs: Optional[dict[str, Any]] = None) -> Topology:
    """Validate a topology mapping; raise TopologyError listing every problem with file:line.

    Args:
        data: the parsed YAML (dict) or builder output.
        source: file name for messages.
        text: the YAML text, used to find line numbers.
        node_configs: {node: NodeConfig} already read for config_file nodes (lab.topology.from_configs),
            used instead of reading the files again.
    """
    lines = _line_map(text) if text else {}
    problems: list[tuple[tuple, str]] = []
    if not isinstance(data, dict):
        raise TopologyError(source, [("", 1, "the top level must be a mapping with name, networks and nodes")])
    try:
        topo = Topology.model_validate(data)
    except ValidationError as e:
        problems = _fmt_pydantic(e, (), Topology)
        raise TopologyError(source, [(".".join(map(str, p)), _line_for(lines, p), m) for p, m in problems]) from None
    topo.source = source
    from .user_config import read_config_files
    problems += read_config_files(topo, node_configs)
    problems += _semantic_problems(topo)
    if problems:
        raise TopologyError(source, [(".".join(map(str, p)), _line_for(lines, p), m) for p, m in problems])
    return topo


def _semantic_problems(t: Topology) -> list[tuple[tuple, str]]:
    P: list[tuple[tuple, str]] = []
    if not t.keepalived_nodes():
        P.append((("nodes",), "no node of kind keepalived"))
    for name in t.vrrp_scripts:
        try:
            VrrpScript.model_validate(t.vrrp_scripts[name])
        except ValidationError as e:
            P += _fmt_pydantic(e, ("vrrp_scripts", name))
    for name in t.vrrp_track_files:
        try:
            VrrpTrackFile.model_validate(t.vrrp_track_files[name])
        except ValidationError as e:
            P += _fmt_pydantic(e, ("vrrp_track_files", name))
    try:
        GlobalDefs.model_validate(t.global_defs)
    except ValidationError as e:
        P += _fmt_pydantic(e, ("global_defs",))
    for gname, g in t.vrrp_sync_groups.items():
        declared = set(t.vrrp_instances) | {i for s in t.nodes.values() for i in s.vrrp_instances}
        for j, member in enumerate(g.group):
            if member not in declared:
                P.append((("vrrp_sync_groups", gname, "group", j),
                          f"no vrrp_instance named {member!r}; declared: {', '.join(sorted(declared)) or 'none'}"))
    for net in t.networks:
        if not DOCKER_NAME.match(net):
            P.append((("networks", net), f"network name {net!r}: use letters, digits, '_', '.' and '-', starting with a "
                                         f"letter or digit (it names a Docker network)"))
    for node, spec in t.nodes.items():
        base = ("nodes", node)
        if not DOCKER_NAME.match(node):
            P.append((base, f"node name {node!r}: use letters, digits, '_', '.' and '-', starting with a letter or "
                            f"digit, at most 63 characters (it names a container and its host)"))
        for itf_name in spec.interfaces:
            if not IFNAME.match(itf_name):
                P.append((base + ("interfaces", itf_name), f"interface name {itf_name!r}: Linux names an interface "
                                                           f"with 1..15 letters, digits, '_', '.' or '-', e.g. eth0"))
        vrids: dict[tuple, str] = {}
        for itf_name, itf in spec.interfaces.items():
            if itf.network not in t.networks:
                P.append((base + ("interfaces", itf_name, "network"),
                          f"unknown network {itf.network!r}; declared: {', '.join(t.networks)}"))
        if not spec.interfaces:
            P.append((base + ("interfaces",), "a node needs at least one interface, e.g. eth0: {network: lan}"))
        if spec.global_defs:
            try:
                t.global_defs_for(node)
            except ValidationError as e:
                P += [(loc, m) for loc, m in _fmt_pydantic(e, base + ("global_defs",))
                      if loc[len(base) + 1] in spec.global_defs]
        if spec.kind != "keepalived":
            continue
        try:
            scripts = t.scripts(node)
        except ValidationError as e:
            P += _fmt_pydantic(e, base + ("vrrp_scripts",))
            scripts = {}
        try:
            tfiles = t.track_files(node)
        except ValidationError as e:
            P += _fmt_pydantic(e, base + ("vrrp_track_files",))
            tfiles = {}
        names = list(t.vrrp_instances) + [n for n in spec.vrrp_instances if n not in t.vrrp_instances]
        for iname in names:
            where = base + ("vrrp_instances", iname) if iname in spec.vrrp_instances else ("vrrp_instances", iname)
            if iname in spec.vrrp_instances and spec.vrrp_instances[iname] is None:
                continue
            merged = {**t.vrrp_instances.get(iname, {}), **(spec.vrrp_instances.get(iname) or {})}
            try:
                inst = VrrpInstance.model_validate(merged)
            except ValidationError as e:
                own = spec.vrrp_instances.get(iname) or {}
                node_msgs = _fmt_pydantic(e, base + ("vrrp_instances", iname))
                shared_msgs = _fmt_pydantic(e, ("vrrp_instances", iname))
                for (nloc, nmsg), (sloc, smsg) in zip(node_msgs, shared_msgs):
                    # blame the block the bad value came from: the node's override or the shared one
                    field = nloc[len(base) + 2] if len(nloc) > len(base) + 2 else None
                    item = (nloc, nmsg) if field in own else (sloc, smsg)
                    if item not in P:
                        P.append(item)
                continue
            if spec.config_template or spec.config_file:
                continue
            for req in ("interface", "virtual_router_id"):
                if getattr(inst, req) is None:
                    P.append((where + (req,), f"required (node {node}, instance {iname})"))
            if (inst.version or 2) == 2 and inst.advert_int != int(inst.advert_int):
                P.append((where + ("advert_int",), f"advert_int {inst.advert_int:g}: VRRPv2 carries whole seconds "
                                                   f"(RFC 3768 §5.3.7); keepalived 2.2.7 would round it and report a "
                                                   f"config error: write 1..255, or version: 3 for centiseconds"))
            fams = {_family(parse_vip(v)["address"]) for v in inst.virtual_ipaddress}
            key = (inst.interface, inst.virtual_router_id, inst.version or 2, 6 if 6 in fams else 4)
            if inst.virtual_router_id is not None and key in vrids:
                P.append((where + ("virtual_router_id",), f"{vrids[key]} and {iname} both use virtual_router_id "
                                                          f"{inst.virtual_router_id} on {inst.interface} of node {node}: "
                                                          f"keepalived runs one instance per VRID on an interface; "
                                                          f"give one another virtual_router_id"))
            vrids.setdefault(key, iname)
            if inst.interface and inst.interface not in spec.interfaces:
                P.append((where + ("interface",), f"node {node} has no interface {inst.interface!r}; "
                                                  f"it has: {', '.join(spec.interfaces) or 'none'}"))
            if not inst.virtual_ipaddress:
                P.append((where + ("virtual_ipaddress",), "at least one VIP is required"))
            if fams == {4, 6}:
                P.append((where + ("virtual_ipaddress",), "IPv4 and IPv6 VIPs in one instance: keepalived ignores the "
                                                          "VIPs whose family differs from the instance's; put the IPv6 "
                                                          "VIPs in an instance of their own"))
            elif 6 in fams and inst.version == 2:
                P.append((where + ("version",), "version 2 with IPv6 VIPs: VRRPv2 is IPv4 only (RFC 3768 §1), and "
                                                "keepalived would send VRRPv2 over IPv6 (outside both RFCs); write "
                                                "version: 3, or leave version out (keepalived then runs VRRPv3)"))
            net6 = t.networks.get(spec.interfaces[inst.interface].network) if inst.interface in spec.interfaces else None
            for i, vip in enumerate(inst.virtual_ipaddress):
                a = parse_vip(vip)["address"]
                if _family(a) == 6 and net6 is not None:
                    netname = spec.interfaces[inst.interface].network
                    if net6.subnet6 is None:
                        P.append((where + ("virtual_ipaddress", i),
                                  f"{vip!r} is IPv6 but network {netname!r} of {inst.interface} has no subnet6; "
                                  f"give it one (networks.{netname}.subnet6: e.g. fd00:6b61:1::/64)"))
                    elif ipaddress.ip_address(a) not in net6.subnet6:
                        P.append((where + ("virtual_ipaddress", i),
                                  f"{vip!r} is outside networks.{netname}.subnet6 {net6.subnet6}"))
                m = LAB_REF.match(a)
                if m:
                    net = t.networks.get(m["net"])
                    if net is None:
                        P.append((where + ("virtual_ipaddress", i), f"unknown network {m['net']!r} in {vip!r}"))
                        continue
                    size = 2 ** (32 - net.prefix())
                    if not size // 2 <= int(m["host"]) < size - 1:
                        P.append((where + ("virtual_ipaddress", i),
                                  f"{vip!r}: VIP host must be in {size // 2}..{size - 2} (the upper half of the "
                                  f"/{net.prefix()} subnet, outside the range Docker hands out)"))
            for j, tr in enumerate(inst.track_script):
                if tr.name not in scripts:
                    P.append((where + ("track_script", j), f"no vrrp_script named {tr.name!r}; "
                                                           f"declared: {', '.join(scripts) or 'none'}"))
            for j, tr in enumerate(inst.track_file):
                if tr.name not in tfiles:
                    P.append((where + ("track_file", j), f"no track_file named {tr.name!r}; "
                                                         f"declared (vrrp_track_files): {', '.join(tfiles) or 'none'}"))
            for j, tr in enumerate(inst.track_interface):
                if tr.name not in spec.interfaces:
                    P.append((where + ("track_interface", j), f"node {node} has no interface {tr.name!r}; "
                                                              f"it has: {', '.join(spec.interfaces)}"))
            for key, addrs in (("unicast_src_ip", [inst.unicast_src_ip] if inst.unicast_src_ip else []),
                               ("unicast_peer", inst.unicast_peer)):
                for j, a in enumerate(addrs):
                    m = LAB_REF.match(a)
                    loc = where + ((key,) if key == "unicast_src_ip" else (key, j))
                    if m and m["net"] not in t.networks:
                        P.append((loc, f"unknown network {m['net']!r} in {a!r}; declared: {', '.join(t.networks)}"))
                    elif not m:
                        try:
                            ipaddress.ip_address(a)
                        except ValueError:
                            P.append((loc, f"{a!r} is neither an IP address nor <network>+<host> (e.g. lan+11)"))
        mine = set(names) - {n for n, v in spec.vrrp_instances.items() if v is None}
        for gname, g in spec.vrrp_sync_groups.items():
            for j, member in enumerate(g.group):
                if member not in mine:
                    P.append((base + ("vrrp_sync_groups", gname, "group", j),
                              f"node {node} has no vrrp_instance {member!r}; it has: {', '.join(sorted(mine)) or 'none'}"))
    six = [(n, net.subnet6) for n, net in t.networks.items() if net.subnet6 is not None]
    for i, (n, a) in enumerate(six):
        for m, b in six[:i]:
            if a.overlaps(b):
                P.append((("networks", n, "subnet6"), f"{a} overlaps networks.{m}.subnet6 {b}: one IPv6 subnet is one "
                                                      f"network (the engine refuses overlapping ones); give each its own"))
    hosts = t.host_numbers()
    for (node, itf), h in hosts.items():
        net = t.networks[t.nodes[node].interfaces[itf].network] if t.nodes[node].interfaces[itf].network in t.networks else None
        if net is not None and not 1 <= h < 2 ** (32 - net.prefix()) // 2:
            P.append((("nodes", node, "interfaces", itf, "host"),
                      f"host {h} is outside the lower half of the /{net.prefix()} subnet reserved for nodes"))
    return P


def _family(address: str) -> int:
    """6 for a literal IPv6 address, else 4 (an IPv4 address or a lab reference ``lan+200``)."""
    return 6 if ":" in address else 4


def load(path: str | Path) -> Topology:
    """Load and validate a topology YAML file.

    Raises:
        TopologyError: unreadable file, bad YAML (with line), or invalid fields (with line and path).
    """
    p = Path(path)
    if p.exists() and not p.is_file():
        raise TopologyError(str(p), [("", None, "not a regular file (a directory, FIFO or device); give a YAML file")])
    try:
        with open(p, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise TopologyError(str(p), [("", None, f"larger than {MAX_BYTES // 2**20} MiB: a topology is a few "
                                                    f"kilobytes (is this the right file?)")])
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TopologyError(str(p), [("", None, f"not a text file (byte {e.start} is not UTF-8)")]) from None
    except OSError as e:
        raise TopologyError(str(p), [("", None, f"cannot read: {e.strerror}")]) from None
    try:
        _check_shape(yaml.compose(text), str(p))
        data = yaml.safe_load(text)
    except RecursionError:
        raise TopologyError(str(p), [("", None, "nested too deeply to be a topology")]) from None
    except yaml.YAMLError as e:
        line, msg = yaml_problem(e)
        raise TopologyError(str(p), [("", line, msg)]) from None
    topo = validate(data, str(p), text)
    return topo


def find(name_or_path: str, search_dirs: list[Path]) -> Path:
    """Resolve a topology name (``two_node``) or path to a file.

    Looks for ``NAME``, ``NAME.yaml``, ``NAME.yml`` in each of ``search_dirs``.
    Raises TopologyError listing what was tried and what exists.
    """
    import difflib

    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or len(p.parts) > 1:
        if p.is_file():
            return p
        if len(p.parts) == 1:                       # `two_node.yaml`: the file in a topology folder
            for d in dict.fromkeys(d.resolve() for d in search_dirs):
                if (d / p).is_file():
                    return d / p
        raise TopologyError(name_or_path, [("", None, "no such file (a topology path must name an existing "
                                                      "YAML file; a bare name is looked up in the topology folders)")])
    dirs = list(dict.fromkeys(d.resolve() for d in search_dirs))
    for d in dirs:
        for cand in (d / name_or_path, d / f"{name_or_path}.yaml", d / f"{name_or_path}.yml"):
            if cand.is_file():
                return cand
    known = sorted({f.stem for d in dirs if d.is_dir() for f in d.glob("*.y*ml")})
    near = difflib.get_close_matches(name_or_path, known, n=1)
    hint = f"did you mean {near[0]!r}? " if near else ""
    raise TopologyError(name_or_path, [("", None, f"no such topology; {hint}known: {', '.join(known) or 'none'} "
                                                  f"(searched {', '.join(str(d) for d in dirs)})")])

