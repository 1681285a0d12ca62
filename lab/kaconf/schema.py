"""keepalived's own configuration keywords as models (pure; man 5 keepalived.conf, keepalived 2.2.7).

The blocks a keepalived.conf is made of -- ``global_defs``, ``vrrp_script``,
``track_file``, ``vrrp_instance`` (with ``authentication`` and ``track_*``
entries), ``vrrp_sync_group`` -- as pydantic models whose field names are
keepalived's keywords, plus :func:`parse_vip` for a ``virtual_ipaddress``
entry. Both the lab topology (:mod:`lab.topology`) and a user's own file
(:mod:`lab.kaconf.from_config`) produce these models; the lint and the election
model read them.

One lab extension: an address may be written ``<network>+<host>``
(:data:`LAB_REF`, e.g. ``lan+200``); the lab resolves it once the subnets are
known (:func:`lab.topology.resolve_address`).

Errors: pydantic ``ValidationError`` (unknown fields are errors); :func:`parse_vip`
raises ValueError naming the bad part and the allowed form.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["LAB_REF", "StrictModel", "VrrpScript", "VrrpTrackFile", "Track", "Authentication", "VrrpInstance",
           "VrrpSyncGroup", "GlobalDefs", "VIP_OPTS", "VIP_FLAGS", "VIP_SCOPES", "parse_vip"]

LAB_REF = re.compile(r"^(?P<net>[A-Za-z_][\w-]*)\+(?P<host>\d+)$")


#: the path inside a value where a control character sits, in the message (the loader reads it back to
#: point at the right line: lab.topology.loader)
CONTROL_AT = re.compile(r"^control character .* not allowed at (?P<path>\S+?):")


def _no_control(value: Any, path: tuple = ()) -> Any:
    """Refuse control characters in a value that is written into keepalived.conf: a newline would end
    the line and let the rest become new keywords (an injected block). Tabs are fine. The message names
    the key path inside ``value`` ("at VI_1.notify_master") when the value is a dict or list."""
    if isinstance(value, str):
        bad = next((c for c in value if (ord(c) < 32 and c != "\t") or ord(c) == 127), None)
        if bad is not None:
            where = f" at {'.'.join(map(str, path))}" if path else ""
            raise ValueError(f"control character {bad!r} not allowed{where}: it would end the keepalived.conf "
                             f"line (write the value on one line)")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _no_control(v, path + (i,))
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_control(k, path + (k,))
            _no_control(v, path + (k,))
    return value


class StrictModel(BaseModel):
    """Base of every keyword model: unknown fields are errors; no value may carry a control character."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _one_line(cls, v: Any, info: Any) -> Any:
        if isinstance(v, bool) and info.field_name in cls.model_fields and \
                cls.model_fields[info.field_name].annotation in (int, float):
            raise ValueError(f"{str(v).lower()} is a yes/no value; {info.field_name} takes a number")
        return _no_control(v)


class VrrpScript(StrictModel):
    """``vrrp_script`` block (man 5 keepalived.conf, VRRP script(s)).

    interval/timeout are whole seconds (keepalived 2.2.7 rejects ``interval 0.5``:
    "must be between 1 and 4294"); weight in -253..253 (0 = failure puts the
    instance in FAULT); ``reverse`` inverts the weight's sense; fall/rise are
    consecutive failures/successes; ``user`` is ``USER [GROUP]``.
    """

    script: str
    interval: int = Field(1, ge=1, le=4294)
    timeout: Optional[int] = Field(None, ge=1, le=4294)
    weight: int = Field(0, ge=-253, le=253)
    reverse: bool = False
    rise: int = Field(1, ge=1)
    fall: int = Field(1, ge=1)
    init_fail: bool = False
    user: Optional[str] = None


class VrrpTrackFile(StrictModel):
    """``track_file NAME`` (alias ``vrrp_track_file``) block (man 5 keepalived.conf, Track files).

    The number in ``file`` times ``weight`` is added to the priority of every
    instance tracking it (weight 0: non-zero means FAULT). ``init_file``
    writes ``init_value`` (default 0) at start-up if the file is missing, or
    always with ``overwrite``.
    """

    file: str
    weight: int = Field(1, ge=-2147483647, le=2147483647)
    reverse: bool = False
    init_file: bool = False
    init_value: Optional[int] = None
    overwrite: bool = False


class Track(StrictModel):
    """One entry of track_script / track_interface / track_file, optional weight override."""

    name: str
    weight: Optional[int] = Field(None, ge=-254, le=254)
    reverse: bool = False


def _tracks(v: Any) -> Any:
    out = []
    for item in v or []:
        if isinstance(item, str):
            out.append({"name": item})
        elif isinstance(item, dict) and "name" not in item and len(item) == 1:
            (k, val), = item.items()
            out.append({"name": k, **(val or {})})
        else:
            out.append(item)
    return out


class Authentication(StrictModel):
    """``authentication`` block: auth_type PASS|AH, auth_pass (keepalived uses 8 characters at most)."""

    auth_type: Literal["PASS", "AH"] = "PASS"
    auth_pass: str


class VrrpInstance(StrictModel):
    """``vrrp_instance`` block; field names are keepalived's keywords.

    advert_int is in seconds (keepalived accepts fractions with VRRPv3);
    preempt_delay in seconds (0..1000); priority 1..255 (255 = address owner).
    virtual_ipaddress entries use keepalived's syntax (man 5 keepalived.conf,
    vrrp_instance, virtual_ipaddress): ``<addr>[/prefix] [brd B] [dev IF]
    [scope S] [label L] [peer P] [home] [-nodad] ...`` where ``<addr>`` may be
    ``net+host``; a bare address means /32. track_* entries are names with an
    optional ``weight W [reverse]``. notify_* are commands (quoted when they
    have arguments). The lab's own ``vrrp_notify_fifo`` is global
    (see :class:`GlobalDefs` ``notify_fifo`` for a user's own FIFO).
    """

    state: Literal["MASTER", "BACKUP"] = "BACKUP"
    interface: Optional[str] = None
    virtual_router_id: Optional[int] = Field(None, ge=1, le=255)
    priority: int = Field(100, ge=1, le=255)
    advert_int: float = Field(1, gt=0, le=255)
    version: Optional[Literal[2, 3]] = None
    authentication: Optional[Authentication] = None
    virtual_ipaddress: list[str] = Field(default_factory=list)
    nopreempt: bool = False
    preempt_delay: Optional[float] = Field(None, ge=0, le=1000)
    unicast_src_ip: Optional[str] = None
    unicast_peer: list[str] = Field(default_factory=list)
    track_script: list[Track] = Field(default_factory=list)
    track_interface: list[Track] = Field(default_factory=list)
    track_file: list[Track] = Field(default_factory=list)
    garp_master_delay: Optional[float] = None
    notify_master: Optional[str] = None
    notify_backup: Optional[str] = None
    notify_fault: Optional[str] = None
    notify_stop: Optional[str] = None
    notify: Optional[str] = None
    smtp_alert: bool = False

    _t = field_validator("track_script", "track_interface", "track_file", mode="before")(
        classmethod(lambda cls, v: _tracks(v)))

    @field_validator("virtual_ipaddress")
    @classmethod
    def _vips(cls, v: list[str]) -> list[str]:
        for entry in v:
            parse_vip(entry)
        return v


class VrrpSyncGroup(StrictModel):
    """``vrrp_sync_group``: instances that change state together (man 5 keepalived.conf,
    VRRP synchronization group(s)). Tracking weights of members are forced to 0 by keepalived."""

    group: list[str] = Field(min_length=1)
    track_script: list[Track] = Field(default_factory=list)
    track_interface: list[Track] = Field(default_factory=list)
    track_file: list[Track] = Field(default_factory=list)
    notify_master: Optional[str] = None
    notify_backup: Optional[str] = None
    notify_fault: Optional[str] = None
    notify_stop: Optional[str] = None
    notify: Optional[str] = None
    smtp_alert: bool = False

    _t = field_validator("track_script", "track_interface", "track_file", mode="before")(
        classmethod(lambda cls, v: _tracks(v)))


class GlobalDefs(StrictModel):
    """``global_defs`` block keywords the lab supports (man 5 keepalived.conf, Global definitions).

    smtp_connect_timeout in seconds; vrrp_garp_interval / vrrp_gna_interval in
    seconds with microsecond resolution: keepalived 2.2.7 accepts
    0.000001..4294.967295 and rejects 0 (the man page says "default: 0"; leave
    the keyword out for no delay). ``vrrp_iptables`` is True (the keyword alone)
    or the chain name(s). ``script_user`` is ``USER [GROUP]``. ``notify_fifo``
    is the user's own FIFO (``notify_fifo FIFO``); the lab adds its own
    ``vrrp_notify_fifo`` beside it.
    """

    router_id: Optional[str] = None
    notification_email: list[str] = Field(default_factory=list)
    notification_email_from: Optional[str] = None
    smtp_server: Optional[str] = None
    smtp_connect_timeout: Optional[int] = Field(None, ge=1)
    vrrp_skip_check_adv_addr: bool = False
    vrrp_strict: bool = False
    vrrp_iptables: Optional[Union[bool, str]] = None
    vrrp_garp_interval: Optional[float] = Field(None, ge=0.000001, le=4294.967295)
    vrrp_gna_interval: Optional[float] = Field(None, ge=0.000001, le=4294.967295)
    enable_script_security: bool = False
    script_user: Optional[str] = None
    notify_fifo: Optional[str] = None
    #: seconds after keepalived's start before its VRRP instances start (man 5 keepalived.conf,
    #: vrrp_startup_delay); the election model does not follow it (a history with it is "cannot judge")
    vrrp_startup_delay: Optional[float] = Field(None, ge=0)



VIP_OPTS = {"dev", "label", "scope", "brd", "broadcast", "peer", "preferred_lft", "track_group"}
VIP_FLAGS = {"home", "-nodad", "nodad", "mngtmpaddr", "noprefixroute", "autojoin", "no_track", "use_vmac"}
VIP_SCOPES = {"site", "link", "host", "nowhere", "global"}


def parse_vip(entry: str) -> dict[str, Any]:
    """Split a virtual_ipaddress entry into ``{"address", "prefix", "dev", "label", ...}``.

    Form (man 5 keepalived.conf, vrrp_instance, virtual_ipaddress):
    ``<IPADDR>[/<MASK>] [brd <IPADDR>] [dev <STRING>] [use_vmac] [scope <SCOPE>]
    [label <LABEL>] [peer <IPADDR>] [home] [-nodad] [mngtmpaddr] [noprefixroute]
    [autojoin] [no_track] [preferred_lft nn|forever]``. ``<IPADDR>`` may be IPv4,
    IPv6 or the lab's ``net+host``. ``prefix`` is None when the entry has none
    (keepalived then uses /32, or /128 for IPv6). Flags appear as ``{flag: True}``.
    Raises ValueError naming the bad part and the allowed form.
    """
    parts = entry.split()
    if not parts:
        raise ValueError("empty virtual_ipaddress entry")
    addr, slash, prefix = parts[0].partition("/")
    if slash and not prefix.isdigit():
        raise ValueError(f"bad prefix in {entry!r}: use <address>/<0-32> (or /<0-128> for IPv6)")
    out: dict[str, Any] = {"address": addr, "prefix": int(prefix) if prefix else None}
    if not LAB_REF.match(addr):
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            raise ValueError(f"{addr!r} is neither an IPv4 (or IPv6) address nor <network>+<host> (e.g. lan+200)") from None
        if out["prefix"] is not None and out["prefix"] > ip.max_prefixlen:
            raise ValueError(f"prefix /{out['prefix']} in {entry!r} is longer than /{ip.max_prefixlen}")
    elif out["prefix"] is not None and out["prefix"] > 32:
        raise ValueError(f"prefix /{out['prefix']} in {entry!r} is longer than /32")
    rest = parts[1:]
    i = 0
    while i < len(rest):
        k = rest[i]
        if k in VIP_FLAGS:
            out[k] = True
            i += 1
            continue
        if k not in VIP_OPTS:
            raise ValueError(f"{entry!r}: unknown option {k!r}; allowed: {', '.join(sorted(VIP_OPTS))} (each with a "
                             f"value) and {', '.join(sorted(VIP_FLAGS))}")
        if i + 1 >= len(rest):
            raise ValueError(f"{entry!r}: option {k!r} needs a value")
        v = rest[i + 1]
        if k == "scope" and v not in VIP_SCOPES and not v.isdigit():
            raise ValueError(f"{entry!r}: scope {v!r} is not one of {', '.join(sorted(VIP_SCOPES))}")
        out["brd" if k == "broadcast" else k] = v
        i += 2
    return out



def instance_family(vips: Any) -> int:
    """The address family (4 or 6) of a VRRP instance from its ``virtual_ipaddress`` entries in config order:
    the first VIP's (keepalived vrrp_parser: the first address sets the instance's family; a later one of the
    other family is ignored, "address family must match VRRP instance"). 4 without VIPs. An entry's flags
    (``dev``, ``label eth2:1``) are not its address. One VRID in the two families is two virtual routers
    (RFC 5798 §5.2.3)."""
    for v in vips or ():
        text = str(v)
        try:
            addr = parse_vip(text)["address"]
        except ValueError:
            addr = text.split()[0] if text.split() else ""
        return 6 if ":" in addr else 4
    return 4
