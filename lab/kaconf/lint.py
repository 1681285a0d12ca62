"""Lint keepalived.conf files: keepalived's own config test plus the lab's semantic rules.

:func:`lint_files` takes the files that form ONE cluster (one file per node),
runs ``keepalived -t`` on each inside the node image (:mod:`lab.kaconf.ktest`;
optional), parses them (:mod:`lab.kaconf.parse`, :mod:`lab.kaconf.from_config`)
and applies every rule in :data:`RULES` across the set. Peers of one VRRP
instance are matched by ``(interface, virtual_router_id)``: the lint cannot
see the users' networks, so the same interface name stands for the same
network (the lab topology path, :func:`lint_topology`, knows the networks).

Each :class:`Diagnostic` has file, line, keyword, severity ("error",
"warning"), rule id and message. :func:`exit_code` is 1 when any diagnostic is
an error. Rule ids:

=================  ===========================================================
keepalived-t       a message of ``keepalived -t`` (its exit code explained)
parse              the reader's own findings (unbalanced braces, missing include)
model              what keepalived drops while reading (only without keepalived -t)
nopreempt-master   nopreempt / preempt_delay with initial state MASTER
weight-gap         a tracker's weight cannot move the VIP (arithmetic shown)
auth-pass-length   auth_pass longer than 8 characters (truncated)
auth-mismatch      peers disagree on authentication
advert-mismatch    VRRPv2 peers with different advert_int
vrid-reuse         one VRID on one network with different VIP sets
strict-conflict    vrrp_strict with unicast peers / authentication / preempt_delay / MASTER below 255
shell-script       a script written in shell syntax, exec'd without a shell
script-glued       ``script"..."`` with no blank: keepalived sees no script
script-security    enable_script_security, no script_user and no keepalived_script user
vip-subnet         VIP outside every subnet of the node, without ``dev``
=================  ===========================================================
"""
from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from .from_config import KeepalivedConfig, from_config
from .parse import Stmt, parse_file, parse_text
from .ktest_output import EXIT_MEANING, KTestResult, parse_output
from .schema import VrrpInstance, parse_vip

# keepalived -t runner: runner(paths, *, extra_files, interfaces, config_id) -> [run with .file, .exit_code, .stderr]
ConfigTestRunner = Callable[..., Sequence[Any]]

__all__ = ["Diagnostic", "Member", "LintResult", "lint_files", "lint_texts", "lint_topology", "RULES",
           "exit_code", "format_text", "format_json"]


@dataclass
class Diagnostic:
    """One finding. ``line`` is 1-based (None when keepalived gave none and none could be inferred)."""

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
    subnets: list[ipaddress.IPv4Network] = field(default_factory=list)
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


def _d(stmt: Optional[Stmt], member: Member, keyword: Optional[str], severity: str, msg: str, rule: str) -> Diagnostic:
    return Diagnostic(stmt.file if stmt is not None else member.file, stmt.line if stmt is not None else None,
                      keyword, severity, msg, rule)


def _where(m: Member, iname: str, keyword: Optional[str] = None) -> Optional[Stmt]:
    return m.kc.stmt("vrrp_instance", iname, keyword) or m.kc.stmt("vrrp_instance", iname)


def _version(m: Member, inst: VrrpInstance) -> int:
    if inst.version:
        return inst.version
    g = m.kc.config.find("global_defs") if m.kc.config else None
    v = g.value("vrrp_version") if g is not None else None
    return int(v) if v and v.isdigit() else 2


def _strict(m: Member, iname: str) -> bool:
    """vrrp_strict globally, or the instance's own ``strict_mode`` (man 5: defaults to vrrp_strict)."""
    s = m.kc.stmt("vrrp_instance", iname, "strict_mode")
    if s is not None:
        return not s.args or s.args[0].lower() in ("on", "true", "yes")
    return m.kc.global_defs.vrrp_strict


def _peer_groups(members: list[Member]) -> dict[tuple[str, int], list[tuple[Member, str, VrrpInstance]]]:
    """(interface, vrid) -> [(member, instance name, instance)] across the cluster."""
    out: dict[tuple[str, int], list] = {}
    for m in members:
        for name, inst in m.kc.instances.items():
            if inst.virtual_router_id is None:
                continue
            out.setdefault((inst.interface or "", inst.virtual_router_id), []).append((m, name, inst))
    return out


# ------------------------------------------------------------------ rules
def rule_nopreempt_master(members: list[Member]) -> list[Diagnostic]:
    """nopreempt (or preempt_delay) with initial state MASTER.

    man 5 keepalived.conf, vrrp_instance, ``nopreempt`` and ``preempt_delay``:
    "NOTE: For this to work, the initial state must not be MASTER." A MASTER
    start preempts anyway, so the setting silently does nothing at start-up.
    """
    out = []
    for m in members:
        for name, inst in m.kc.instances.items():
            if inst.state != "MASTER":
                continue
            for kw, on in (("nopreempt", inst.nopreempt), ("preempt_delay", bool(inst.preempt_delay))):
                if on:
                    out.append(_d(_where(m, name, kw), m, kw, "error",
                                  f"({name}) {kw} has no effect with 'state MASTER' (man 5 keepalived.conf: "
                                  f"\"For this to work, the initial state must not be MASTER\"); use state BACKUP "
                                  f"on every node", "nopreempt-master"))
    return out


def _trackers(m: Member, inst: VrrpInstance) -> list[tuple[str, str, int, bool]]:
    """(kind, name, weight, reverse) of every weighted tracker of an instance (script weight as default)."""
    out = []
    for t in inst.track_script:
        s = m.kc.scripts.get(t.name)
        if s is None:
            continue
        w = t.weight if t.weight is not None else s.weight
        rev = t.reverse if t.weight is not None else s.reverse
        out.append(("track_script", t.name, w, rev))
    for t in inst.track_interface:
        out.append(("track_interface", t.name, t.weight or 0, t.reverse))
    for t in inst.track_file:
        f = m.kc.track_files.get(t.name)
        w = t.weight if t.weight is not None else (f.weight if f else 1)
        out.append(("track_file", t.name, w, t.reverse))
    return out


def _clamp(p: int) -> int:
    return max(1, min(254, p))


def rule_weight_gap(members: list[Member]) -> list[Diagnostic]:
    """A tracker on the would-be master whose failure can never move the VIP.

    man 5 keepalived.conf, VRRP script(s) / track_script: a positive weight is
    added while the check succeeds, a negative one subtracted after ``fall``
    failures; the effective priority stays in 1..254 and a priority of 255 is
    never changed by trackers. A backup only takes over when the master's
    priority drops *below* its own (RFC 3768 §6.4.2: an advert with priority
    greater than or equal to the local one resets the Master_Down_Timer).
    So with master M and best backup B (both with every check passing), a
    failure of tracker t on M moves the VIP only if
    ``M_ok - |w_t| < B_ok``. Weight 0 (FAULT) and ``reverse`` trackers are skipped,
    and so are sync-group members (keepalived zeroes their weights).
    """
    out = []
    for (_itf, vrid), peers in _peer_groups(members).items():
        if len(peers) < 2:
            continue
        ok = {}
        for m, name, inst in peers:
            bonus = sum(w for _k, _n, w, rev in _trackers(m, inst) if w > 0 and not rev)
            ok[id(m), name] = inst.priority if inst.priority == 255 else _clamp(inst.priority + bonus)
        for m, name, inst in peers:
            if any(name in g.group for g in m.kc.sync_groups.values()):
                continue
            others = [(om, on, oi) for om, on, oi in peers if om is not m]
            if not others:
                continue
            b_ok = max(ok[id(om), on] for om, on, _ in others)
            m_ok = ok[id(m), name]
            if m_ok <= b_ok:
                continue      # not the expected master
            best = next(f"{Path(om.file).name}:{on}" for om, on, _ in others if ok[id(om), on] == b_ok)
            for kind, tname, w, rev in _trackers(m, inst):
                if w == 0 or rev:
                    continue
                if inst.priority == 255:
                    fail = 255
                    why = "priority 255 (address owner) is never changed by trackers"
                else:
                    fail = _clamp(m_ok - abs(w))
                    sign = "-" if w < 0 else "+"
                    why = (f"{m_ok} - {abs(w)} = {fail}" + (f" (clamped to 1..254)" if fail != m_ok - abs(w) else "")
                           + (f"; the +{w} is lost when it fails" if sign == "+" else ""))
                if fail >= b_ok:
                    stmt = _where(m, name, kind)
                    out.append(_d(stmt, m, kind, "error",
                                  f"({name}, VRID {vrid}) a failure of {tname} (weight {w}) can never move the VIP: "
                                  f"master priority with every check passing {m_ok}, after the failure {why}, which is "
                                  f"not below the best backup's {b_ok} ({best}); make |weight| > {m_ok - b_ok}",
                                  "weight-gap"))
    return out


def rule_auth_pass_length(members: list[Member]) -> list[Diagnostic]:
    """auth_pass longer than 8 characters.

    man 5 keepalived.conf, vrrp_instance, authentication: "Only the first eight
    (8) characters are used." (RFC 2338 §5.3.10: the authentication data field
    of VRRPv2 is 8 octets.)
    """
    out = []
    for m in members:
        for name, inst in m.kc.instances.items():
            a = inst.authentication
            if a and a.auth_type == "PASS" and len(a.auth_pass) > 8:
                out.append(_d(_where(m, name, "authentication"), m, "auth_pass", "warning",
                              f"({name}) auth_pass {a.auth_pass!r} has {len(a.auth_pass)} characters; keepalived uses "
                              f"only the first 8 ({a.auth_pass[:8]!r})", "auth-pass-length"))
    return out


def rule_auth_mismatch(members: list[Member]) -> list[Diagnostic]:
    """Peers of one instance disagree on authentication.

    man 5 keepalived.conf, authentication: the password "should be the same on
    all machines"; RFC 2338 §7.1 (receiving): a packet whose authentication does
    not match is discarded, so each side stops hearing the other and both become
    MASTER (split brain). Only the first 8 characters count.
    """
    out = []
    for (_itf, vrid), peers in _peer_groups(members).items():
        def key(inst):
            a = inst.authentication
            return None if a is None else (a.auth_type, a.auth_pass[:8] if a.auth_type == "PASS" else a.auth_pass)
        keys = {key(i) for _m, _n, i in peers}
        if len(keys) < 2:
            continue
        desc = ", ".join(f"{Path(m.file).name}:{n}=" + ("none" if key(i) is None else f"{key(i)[0]}/{key(i)[1]!r}")
                         for m, n, i in peers)
        for m, n, i in peers:
            out.append(_d(_where(m, n, "authentication"), m, "authentication", "error",
                          f"({n}, VRID {vrid}) authentication differs between peers ({desc}): adverts are dropped "
                          f"and each node becomes MASTER", "auth-mismatch"))
    return out


def rule_advert_mismatch(members: list[Member]) -> list[Diagnostic]:
    """VRRPv2 peers with different advert_int.

    RFC 3768 §7.1: the receiver "MUST verify that the Adver Interval in the
    packet is the same as the locally configured for this virtual router"
    and discards the packet otherwise, so both become MASTER. VRRPv3 (RFC 5798
    §6.4.2) lets a backup learn the master's interval: no diagnostic there.
    """
    out = []
    for (_itf, vrid), peers in _peer_groups(members).items():
        v2 = [(m, n, i) for m, n, i in peers if _version(m, i) == 2]
        ints = {i.advert_int for _m, _n, i in v2}
        if len(v2) < 2 or len(ints) < 2:
            continue
        desc = ", ".join(f"{Path(m.file).name}:{n}={i.advert_int:g}s" for m, n, i in v2)
        for m, n, i in v2:
            out.append(_d(_where(m, n, "advert_int"), m, "advert_int", "error",
                          f"({n}, VRID {vrid}) VRRPv2 peers disagree on advert_int ({desc}): RFC 3768 §7.1 discards "
                          f"adverts with another interval, so each node becomes MASTER", "advert-mismatch"))
    return out


def _vipset(inst: VrrpInstance) -> frozenset[str]:
    out = set()
    for v in inst.virtual_ipaddress:
        p = parse_vip(v)
        out.add(f"{p['address']}/{p['prefix'] if p['prefix'] is not None else 32}")
    return frozenset(out)


def rule_vrid_reuse(members: list[Member]) -> list[Diagnostic]:
    """One VRID on one network with different VIP sets.

    RFC 3768 §5.3.3 / RFC 5798 §5.2.3: the VRID identifies the virtual router on
    a LAN; man 5 keepalived.conf, virtual_router_id: do not duplicate it on a
    network (except unicast with disjoint peers or another mcast_dst_ip). Two
    routers with one VRID and different addresses fight over one virtual MAC
    (00-00-5E-00-01-{VRID}) and log "received an invalid ip number count"
    instead of electing.
    """
    out = []
    for (_itf, vrid), peers in _peer_groups(members).items():
        mc = [(m, n, i) for m, n, i in peers if not i.unicast_peer]
        sets = {_vipset(i) for _m, _n, i in mc}
        if len(sets) < 2:
            continue
        desc = "; ".join(f"{Path(m.file).name}:{n}: {', '.join(sorted(_vipset(i))) or 'none'}" for m, n, i in mc)
        for m, n, i in mc:
            out.append(_d(_where(m, n, "virtual_router_id"), m, "virtual_router_id", "error",
                          f"VRID {vrid} on {_itf or 'the same interface'} is used with different VIP sets ({desc}); "
                          f"give each virtual router its own VRID", "vrid-reuse"))
    return out


def rule_strict_conflicts(members: list[Member]) -> list[Diagnostic]:
    """vrrp_strict conflicts.

    man 5 keepalived.conf, global_defs ``vrrp_strict``: strict mode does not
    allow unicast peers, does not support authentication or preempt delay, and
    "State MASTER can be configured if and only if priority is 255".
    keepalived 2.2.7 ignores authentication ("Strict mode does not support
    authentication. Ignoring.") and starts a MASTER below 255 as BACKUP ("State
    MASTER must match being address owner").
    """
    out = []
    for m in members:
        for name, inst in m.kc.instances.items():
            if not _strict(m, name):
                continue
            checks = [
                ("unicast_peer", bool(inst.unicast_peer), "unicast peers are not allowed in strict mode"),
                ("authentication", inst.authentication is not None,
                 "authentication is not supported in strict mode (keepalived ignores it)"),
                ("preempt_delay", bool(inst.preempt_delay), "preempt_delay is not supported in strict mode"),
                ("state", inst.state == "MASTER" and inst.priority != 255,
                 f"state MASTER needs priority 255 in strict mode (priority is {inst.priority}); keepalived "
                 f"starts it as BACKUP"),
            ]
            for kw, bad, msg in checks:
                if bad:
                    out.append(_d(_where(m, name, kw), m, kw, "error", f"({name}) vrrp_strict: {msg}",
                                  "strict-conflict"))
    return out


_SHELL_TOKENS = ("|", "||", "&&", ";", ">", ">>", "<", "2>&1", "&")
_SHELL_CHARS = ("$(", "`", "<", ">", "|", "&&", ";", "*", "~")
_BUILTINS = {"[[", "source", ".", "cd", "export", "exit", "eval", "if", "for", "while", "case", "function",
             "set", "alias", "ulimit", "read", "let", "declare", "local"}


def _shell_reason(argv: list[str]) -> Optional[str]:
    if not argv:
        return None
    if argv[0] in ("sh", "bash", "dash", "/bin/sh", "/bin/bash", "/usr/bin/bash", "/usr/bin/sh", "/bin/dash"):
        return None
    if argv[0] in _BUILTINS:
        return f"{argv[0]!r} is a shell builtin/keyword, not a program"
    for a in argv:
        if a in _SHELL_TOKENS:
            return f"{a!r} is shell syntax"
        for c in _SHELL_CHARS:
            if c in a:
                return f"{a!r} uses the shell's {c!r}"
    return None


def rule_shell_script(members: list[Member]) -> list[Diagnostic]:
    """A script written in shell syntax that keepalived will not run through a shell.

    man 5 keepalived.conf, SCRIPTS / Quoted strings: the script string is split
    into a program and its parameters ("unquoted spaces will separate the
    parameters") and executed directly, with no shell; redirections (the seed's
    ``</dev/tcp/127.0.0.1/80``), pipes, ``&&``, ``$(...)``, globs and builtins
    are not interpreted. keepalived -t says nothing about it. Fix: ``script
    "/bin/sh -c '...'"`` or a script file.
    """
    out = []
    for m in members:
        cfg = m.kc.config
        if cfg is None:
            continue
        for path, s in cfg.walk():
            is_script = (s.keyword == "script" and path[-1:] == ("vrrp_script",)) or \
                        (s.keyword in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify")
                         and path[-1:] in (("vrrp_instance",), ("vrrp_sync_group",)))
            if not is_script:
                continue
            argv = s.script_argv()
            why = _shell_reason(argv)
            if why:
                out.append(_d(s, m, s.keyword, "error",
                              f"{' '.join(argv)!r} is run without a shell ({why}), so it cannot work as written; "
                              f"use \"/bin/bash -c '{' '.join(argv)}'\" (bash: /dev/tcp is a bash feature) or a script file", "shell-script"))
    return out


def rule_script_glued(members: list[Member]) -> list[Diagnostic]:
    """``script"..."`` with no blank between keyword and quote.

    keepalived 2.2.7 splits the raw line with its quoted-string rules (man 5
    keepalived.conf, Quoted strings: quotes join, like the shell), so
    ``script"/tools/nginx_check.sh"`` is ONE word and no script is left
    (measured: "No script set for vrrp_script nginx_check - removing"); every
    track_script naming it is then ignored.
    """
    out = []
    for m in members:
        cfg = m.kc.config
        if cfg is None:
            continue
        for path, s in cfg.walk():
            if path[-1:] == ("vrrp_script",) and s.keyword == "script" and s.args and not s.script_argv():
                out.append(_d(s, m, "script", "error",
                              f"no blank between 'script' and its quoted command ({s.text!r}): keepalived reads one "
                              f"word and drops the vrrp_script; write script \"{s.args[0]}\"", "script-glued"))
    return out


def _scripts_used(m: Member) -> bool:
    if any(i.track_script or i.notify_master or i.notify_backup or i.notify_fault or i.notify_stop or i.notify
           for i in m.kc.instances.values()):
        return True
    return any(g.notify_master or g.notify_backup or g.notify_fault or g.notify_stop or g.notify
               for g in m.kc.sync_groups.values())


def rule_script_security(members: list[Member]) -> list[Diagnostic]:
    """enable_script_security with neither script_user nor a keepalived_script user.

    man 5 keepalived.conf, SCRIPTS and global_defs ``script_user``: scripts run
    as ``keepalived_script`` if that user exists, else as root. With
    ``enable_script_security`` keepalived 2.2.7 refuses the fallback (measured
    in the node image: "Unable to set default user keepalived_script for
    script", exit code 5). Quiet when script_user is set, when every script
    has its own ``user``, or when the caller says the user exists.
    """
    out = []
    for m in members:
        g = m.kc.global_defs
        if not g.enable_script_security or g.script_user or m.user_exists:
            continue
        if not _scripts_used(m):
            continue
        used = {t.name for i in m.kc.instances.values() for t in i.track_script}
        if used and all(m.kc.scripts[n].user for n in used if n in m.kc.scripts) and not any(
                i.notify_master or i.notify_backup or i.notify_fault or i.notify_stop or i.notify
                for i in m.kc.instances.values()):
            continue
        stmt = m.kc.stmt("global_defs", "", "enable_script_security")
        out.append(_d(stmt, m, "enable_script_security", "error",
                      "enable_script_security is set but there is no script_user and (unless the host has one) no "
                      "keepalived_script user: keepalived refuses to run the scripts; add 'script_user USER' or "
                      "create the keepalived_script user", "script-security"))
    return out


def rule_vip_subnet(members: list[Member]) -> list[Diagnostic]:
    """A VIP outside every subnet of the node, with no ``dev``.

    man 5 keepalived.conf, vrrp_instance, virtual_ipaddress: an address without
    ``dev`` goes on the instance's interface, and without ``/prefix`` it is a
    /32. An address in none of the node's subnets is unreachable for hosts on
    those networks (no ARP reply is looked for there) unless routed to it; say
    ``dev`` explicitly if that is intended. Quiet when the node's subnets are
    unknown (pass them with ``--subnet`` or lint a lab topology).
    """
    out = []
    for m in members:
        if not m.subnets:
            continue
        for name, inst in m.kc.instances.items():
            for v in inst.virtual_ipaddress:
                p = parse_vip(v)
                if p.get("dev"):
                    continue
                try:
                    ip = ipaddress.ip_address(p["address"])
                except ValueError:
                    continue
                if not any(ip.version == n.version and ip in n for n in m.subnets):
                    out.append(_d(_where(m, name, "virtual_ipaddress"), m, "virtual_ipaddress", "warning",
                                  f"({name}) VIP {v} is outside every subnet of this node "
                                  f"({', '.join(map(str, m.subnets))}) and names no dev", "vip-subnet"))
    return out


RULES: dict[str, Callable[[list[Member]], list[Diagnostic]]] = {
    "nopreempt-master": rule_nopreempt_master,
    "weight-gap": rule_weight_gap,
    "auth-pass-length": rule_auth_pass_length,
    "auth-mismatch": rule_auth_mismatch,
    "advert-mismatch": rule_advert_mismatch,
    "vrid-reuse": rule_vrid_reuse,
    "strict-conflict": rule_strict_conflicts,
    "shell-script": rule_shell_script,
    "script-glued": rule_script_glued,
    "script-security": rule_script_security,
    "vip-subnet": rule_vip_subnet,
}


# ------------------------------------------------------------------ keepalived -t messages
def _ktest_diagnostics(m: Member, res: KTestResult) -> list[Diagnostic]:
    out = []
    cfg = m.kc.config
    for km in res.messages:
        file, line, kw = km.file, km.line, km.keyword
        if cfg is not None and file and line:
            hit = cfg.at(file, line) or (cfg.at(m.file, line) if file != m.file else None)
            if hit is not None:
                path, st = hit
                if st.end_line == line and st.line != line:
                    kw = kw or st.keyword
                elif not km.keyword or km.keyword in ("interface",):
                    kw = st.keyword if st.keyword else kw
        elif cfg is not None and not line:
            st = None
            if km.block:
                for kind in ("vrrp_instance", "vrrp_script", "vrrp_sync_group", "track_file"):
                    b = m.kc.stmt(kind, km.block)
                    if b is not None:
                        st = (b.find(kw) if kw else None) or b
                        break
            elif kw:
                g = m.kc.stmt("global_defs", "", kw)
                st = g
            if st is not None:
                file, line = st.file, st.line
        out.append(Diagnostic(file or m.file, line, kw, km.severity, f"keepalived -t: {km.message}", "keepalived-t"))
    if res.exit_code != 0 and not any(d.severity == "error" for d in out):
        # only when no message said what is wrong; the exit code is in the report's file lines anyway
        out.append(Diagnostic(m.file, None, None, "error",
                              f"keepalived -t exit code {res.exit_code}: "
                              f"{EXIT_MEANING.get(res.exit_code, 'unknown')}", "keepalived-t"))
    return out


# ------------------------------------------------------------------ entry points
def lint_members(members: list[Member], rules: Optional[Iterable[str]] = None,
                 notes: bool = False) -> list[Diagnostic]:
    """Apply the semantic rules (all, or the named ones) and the reader's problems to a cluster.

    ``notes``: also report what :mod:`lab.kaconf.from_config` dropped the way keepalived would
    (rule "model"); used when keepalived -t does not run and cannot say it itself.
    """
    out: list[Diagnostic] = []
    for m in members:
        if m.kc.config is not None:
            for p in m.kc.config.problems:
                out.append(Diagnostic(p.file or m.file, p.line, None, p.severity, p.message, "parse"))
        if notes:
            for p in m.kc.notes:
                kw = None
                if m.kc.config is not None and p.line:
                    hit = m.kc.config.at(p.file, p.line)
                    kw = hit[1].keyword if hit else None
                out.append(Diagnostic(p.file or m.file, p.line, kw, p.severity, p.message, "model"))
    for name in rules or RULES:
        out += RULES[name](members)
    return out


def lint_texts(texts: dict[str, str], subnets: Optional[dict[str, list]] = None,
               rules: Optional[Iterable[str]] = None) -> LintResult:
    """Semantic lint of in-memory configs ``{name: text}`` as one cluster (no keepalived -t, no Docker)."""
    members = []
    for name, text in texts.items():
        members.append(Member(name, from_config(parse_text(text, name)),
                              [ipaddress.ip_network(s) for s in (subnets or {}).get(name, [])]))
    return LintResult(_sorted(lint_members(members, rules, notes=True)), {n: None for n in texts})


def lint_files(files: list[str | Path], *, keepalived_test: Optional[ConfigTestRunner] = None,
               subnets: Iterable[str] = (), interfaces: Iterable[str] = ("eth0",),
               config_id: Optional[str] = None) -> LintResult:
    """Lint the files that form one cluster: the semantic rules, plus keepalived -t when a runner is given.

    Args:
        files: keepalived.conf paths, one per node.
        keepalived_test: the ``keepalived -t`` runner (:func:`lab.runtime.ktest.run_config_test` is one;
            ``kalab lint`` passes it), called as ``runner(paths, extra_files={abs path: bytes},
            interfaces=..., config_id=...)`` and returning, per path, an object with ``file``,
            ``exit_code`` and ``stderr``. None (default): semantic rules only, and the reader's
            notes (rule "model") stand in for keepalived's own messages.
        subnets: CIDRs of the nodes' networks (for the vip-subnet rule), e.g. ``["10.0.0.0/24"]``.
        interfaces: interface names that exist on the nodes (passed to the runner).
        config_id: keepalived's ``-i`` (for ``@ID`` lines).
    Raises:
        lab.errors.ConfigError: a file cannot be read. Whatever the runner raises (LabError for Docker problems).
    """
    nets = [ipaddress.ip_network(s, strict=False) for s in subnets]
    members = []
    for f in files:
        cfg = parse_file(f, config_id=config_id)
        members.append(Member(str(f), from_config(cfg), list(nets)))
    diags = lint_members(members, notes=not keepalived_test)
    codes: dict[str, Optional[int]] = {m.file: None for m in members}
    if keepalived_test:
        extra = {}
        for m in members:
            for inc in m.kc.config.files[1:]:
                p = Path(inc).resolve()
                extra[str(p)] = p.read_bytes()
        runs = keepalived_test([m.file for m in members], extra_files=extra, interfaces=interfaces,
                               config_id=config_id)
        for m, run in zip(members, runs):
            res = KTestResult(run.file, run.exit_code, parse_output(run.stderr, run.file, run.exit_code), run.stderr)
            # keepalived prints the absolute path; report the path as the user gave it
            abs_ = str(Path(m.file).resolve())
            for km in res.messages:
                if km.file == abs_:
                    km.file = m.file
            codes[m.file] = res.exit_code
            diags += _ktest_diagnostics(m, res)
    return LintResult(_sorted(diags), codes)


def lint_topology(topo, subnets: dict[str, ipaddress.IPv4Network], rules: Optional[Iterable[str]] = None) -> LintResult:
    """Semantic lint of the configs a lab topology gives its keepalived nodes (no Docker).

    Instances are matched by (interface, VRID) as for files; each node's subnets
    come from its interfaces' networks.
    """
    from .render import render_node

    members = []
    for node in topo.keepalived_nodes():
        text = render_node(topo, node, subnets)
        kc = from_config(parse_text(text, f"{topo.name}:{node}", config_id=node))
        nets = [subnets[i.network] for i in topo.nodes[node].interfaces.values() if i.network in subnets]
        members.append(Member(f"{topo.name}:{node}", kc, nets))
    return LintResult(_sorted(lint_members(members, rules)), {m.file: None for m in members})


def _sorted(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    out = []
    for d in diags:
        k = (d.file, d.line, d.rule, d.message)
        if k not in seen:
            seen.add(k)
            out.append(d)
    return sorted(out, key=lambda d: (d.file, d.line or 0, d.rule != "keepalived-t", d.rule))


def exit_code(result: LintResult) -> int:
    """1 when any diagnostic is an error, else 0."""
    return 1 if result.errors else 0


def format_text(result: LintResult) -> str:
    """Readable report: one line per diagnostic, then keepalived -t's exit code per file, then totals."""
    lines = [str(d) for d in result.diagnostics]
    for f, rc in result.exit_codes.items():
        if rc is not None:
            lines.append(f"{f}: keepalived -t exit code {rc} ({EXIT_MEANING.get(rc, 'unknown')})")
    lines.append(f"{len(result.errors)} error(s), {len(result.warnings)} warning(s) in {len(result.exit_codes)} file(s)")
    return "\n".join(lines)


def format_json(result: LintResult) -> str:
    """Machine-readable report: {"files": [...], "diagnostics": [...], "errors": N, "warnings": N}."""
    return json.dumps({
        "files": [{"file": f, "keepalived_exit_code": rc,
                   "meaning": EXIT_MEANING.get(rc) if rc is not None else None}
                  for f, rc in result.exit_codes.items()],
        "diagnostics": [asdict(d) for d in result.diagnostics],
        "errors": len(result.errors), "warnings": len(result.warnings),
    }, indent=2)
