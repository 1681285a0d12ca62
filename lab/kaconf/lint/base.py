"""What every lint rule shares (pure): findings, cluster members, the rule registry, helpers.

A rule is a function ``check(members) -> list[Diagnostic]`` in its own module under
:mod:`lab.kaconf.lint.rules`, registered with :func:`register` (id, one-line
summary, source: the man page section, RFC or measurement it rests on). The
package finds every module there by itself, so adding a rule is one new file
plus its test in tests/unit/test_lint.py.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

from ..from_config import KeepalivedConfig
from ..parse import Stmt
from ..schema import VrrpInstance, instance_family, parse_vip

__all__ = ["Diagnostic", "Member", "LintResult", "RuleInfo", "Check", "RULES", "RULE_INFO", "BUILTIN_FINDINGS",
           "register", "diag", "where", "vrrp_version", "strict_mode", "peer_groups", "sync_group_member",
           "vip_set"]


@dataclass
class Diagnostic:
    """One finding. ``line`` is 1-based (None when keepalived gave none and none could be inferred).

    ``severity`` is "error" or "warning"; ``rule`` a rule id of :data:`RULES` or one of
    :data:`BUILTIN_FINDINGS`.
    """

    file: str
    line: Optional[int]
    keyword: Optional[str]
    severity: str
    message: str
    rule: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        kw = f" {self.keyword}:" if self.keyword else ""
        return f"{where}: {self.severity}: [{self.rule}]{kw} {self.message}"


@dataclass
class Member:
    """One node's config in a cluster. ``subnets``: the node's own networks, if known."""

    file: str
    kc: KeepalivedConfig
    subnets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    user_exists: Optional[bool] = None   # does a keepalived_script user exist where this runs? (None: unknown)


@dataclass
class LintResult:
    """All diagnostics plus keepalived -t's exit code per file (None when it was not run)."""

    diagnostics: list[Diagnostic]
    exit_codes: dict[str, Optional[int]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    def by_rule(self, rule: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.rule == rule]


# ------------------------------------------------------------------ registry
Check = Callable[[list[Member]], list[Diagnostic]]


@dataclass(frozen=True)
class RuleInfo:
    """A registered rule: ``id`` (kebab-case, used in diagnostics), one-line ``summary``, ``source``
    (man page section / RFC / measured release), the ``check`` function and its ``module``."""

    id: str
    summary: str
    source: str
    check: Check
    module: str


RULES: dict[str, Check] = {}          # rule id -> check function (the public table)
RULE_INFO: dict[str, RuleInfo] = {}   # rule id -> its description

# findings that come from the reader and keepalived -t, not from a rule module
BUILTIN_FINDINGS = {
    "keepalived-t": ("a message of ``keepalived -t`` (its exit code explained)",
                     "keepalived 2.2.7, ``keepalived -t``; exit codes from lib/scheduler.h"),
    "parse": ("the reader's own findings (unbalanced braces, missing include)",
              "man 5 keepalived.conf, include and Quoted strings (the reader follows keepalived 2.2.7)"),
    "model": ("what keepalived drops while reading (only without keepalived -t)",
              "man 5 keepalived.conf ranges; measured on keepalived 2.2.7"),
}


def register(id: str, *, summary: str, source: str) -> Callable[[Check], Check]:
    """Decorator: add ``check`` to :data:`RULES` under ``id``.

    Raises:
        ValueError: ``id`` is taken already, or summary/source is empty.
    """
    def deco(check: Check) -> Check:
        if id in RULES or id in BUILTIN_FINDINGS:
            raise ValueError(f"lint rule id {id!r} is registered twice ({check.__module__})")
        if not summary.strip() or not source.strip():
            raise ValueError(f"lint rule {id!r} needs a one-line summary and its source")
        RULES[id] = check
        RULE_INFO[id] = RuleInfo(id, summary, source, check, check.__module__)
        return check
    return deco


# ------------------------------------------------------------------ helpers for rules
def diag(stmt: Optional[Stmt], member: Member, keyword: Optional[str], severity: str, msg: str,
         rule: str) -> Diagnostic:
    """A Diagnostic at ``stmt`` (its file and line), or at the member's file when ``stmt`` is None."""
    return Diagnostic(stmt.file if stmt is not None else member.file, stmt.line if stmt is not None else None,
                      keyword, severity, msg, rule)


def where(m: Member, iname: str, keyword: Optional[str] = None) -> Optional[Stmt]:
    """The statement ``keyword`` of vrrp_instance ``iname`` (or the block itself, or None)."""
    return m.kc.stmt("vrrp_instance", iname, keyword) or m.kc.stmt("vrrp_instance", iname)


def vrrp_version(m: Member, inst: VrrpInstance) -> int:
    """The instance's VRRP version: its own ``version``, else global_defs ``vrrp_version``, else 2
    (man 5 keepalived.conf, vrrp_version: default 2)."""
    if inst.version:
        return inst.version
    g = m.kc.config.find("global_defs") if m.kc.config else None
    v = g.value("vrrp_version") if g is not None else None
    return int(v) if v and v.isdigit() else 2


def strict_mode(m: Member, iname: str) -> bool:
    """vrrp_strict globally, or the instance's own ``strict_mode`` (man 5: defaults to vrrp_strict)."""
    s = m.kc.stmt("vrrp_instance", iname, "strict_mode")
    if s is not None:
        return not s.args or s.args[0].lower() in ("on", "true", "yes")
    return m.kc.global_defs.vrrp_strict


def peer_groups(members: list[Member]) -> dict[tuple[str, int, int], list[tuple[Member, str, VrrpInstance]]]:
    """(interface, vrid, address family) -> [(member, instance name, instance)] across the cluster.

    The lint cannot see the users' networks, so the same interface name stands for the same network. One
    VRID in IPv4 and in IPv6 is two virtual routers (RFC 5798 §5.2.3), so the family is part of the key.
    """
    out: dict[tuple[str, int, int], list] = {}
    for m in members:
        for name, inst in m.kc.instances.items():
            if inst.virtual_router_id is None:
                continue
            key = (inst.interface or "", inst.virtual_router_id, instance_family(inst.virtual_ipaddress))
            out.setdefault(key, []).append((m, name, inst))
    return out


def statements(members: list[Member]) -> Iterator[tuple[Member, tuple, Stmt]]:
    """(member, block path, statement) for every statement of every member's parsed config (members whose
    config could not be read have none)."""
    for m in members:
        cfg = m.kc.config
        if cfg is None:
            continue
        for path, s in cfg.walk():
            yield m, path, s


def sync_group_member(m: Member, iname: str) -> bool:
    """Whether instance ``iname`` is in a vrrp_sync_group of ``m`` (keepalived zeroes its tracking weights)."""
    return any(iname in g.group for g in m.kc.sync_groups.values())


def vip_set(inst: VrrpInstance) -> frozenset[str]:
    """The instance's VIPs as ``address/prefix`` strings (no prefix: /32, as keepalived reads it)."""
    out = set()
    for v in inst.virtual_ipaddress:
        p = parse_vip(v)
        out.add(f"{p['address']}/{p['prefix'] if p['prefix'] is not None else 32}")
    return frozenset(out)
