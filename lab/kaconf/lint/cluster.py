"""Run the lint over a cluster (pure): files or texts -> members -> every rule, keepalived -t injected.

:func:`lint_files` takes the files that form ONE cluster (one file per node),
parses them (:mod:`lab.kaconf.parse`, :mod:`lab.kaconf.from_config`), applies
every rule of :data:`~lab.kaconf.lint.base.RULES` across the set and, when
given a runner (``keepalived_test``, e.g. :func:`lab.runtime.ktest.run_config_test`),
turns ``keepalived -t``'s messages into diagnostics too. Peers of one VRRP
instance are matched by ``(interface, virtual_router_id)``.
"""
from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from ..from_config import from_config
from ..ktest_output import EXIT_MEANING, KTestResult, parse_output
from ..parse import parse_file, parse_text
from .base import RULES, Diagnostic, LintResult, Member

__all__ = ["ConfigTestRunner", "lint_members", "lint_cluster", "lint_texts", "lint_files", "sort_diagnostics"]

# keepalived -t runner: runner(paths, *, extra_files, interfaces, config_id) -> [run with .file, .exit_code, .stderr]
ConfigTestRunner = Callable[..., Sequence[Any]]


def lint_members(members: list[Member], rules: Optional[Iterable[str]] = None,
                 notes: bool = False) -> list[Diagnostic]:
    """Apply the semantic rules (all, or the named ones) and the reader's problems to a cluster.

    ``notes``: also report what :mod:`lab.kaconf.from_config` dropped the way keepalived would
    (rule "model"); used when keepalived -t does not run and cannot say it itself.
    Raises KeyError for an unknown rule id.
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
        if name not in RULES:
            raise KeyError(f"no lint rule {name!r}; known: {', '.join(sorted(RULES))}")
        out += RULES[name](members)
    return out


def lint_cluster(members: list[Member], rules: Optional[Iterable[str]] = None, notes: bool = False) -> LintResult:
    """:func:`lint_members`, de-duplicated and sorted, as a :class:`LintResult` (no keepalived -t exit codes).

    What :func:`lab.topology.lint.lint_topology` uses for the configs a topology renders.
    """
    return LintResult(sort_diagnostics(lint_members(members, rules, notes)), {m.file: None for m in members})


def lint_texts(texts: dict[str, str], subnets: Optional[dict[str, list]] = None,
               rules: Optional[Iterable[str]] = None) -> LintResult:
    """Semantic lint of in-memory configs ``{name: text}`` as one cluster (no keepalived -t, no Docker)."""
    members = []
    for name, text in texts.items():
        members.append(Member(name, from_config(parse_text(text, name)),
                              [ipaddress.ip_network(s) for s in (subnets or {}).get(name, [])]))
    return LintResult(sort_diagnostics(lint_members(members, rules, notes=True)), {n: None for n in texts})


def lint_files(files: list[str | Path], *, keepalived_test: Optional[ConfigTestRunner] = None,
               subnets: Iterable[str] = (), interfaces: Iterable[str] = ("eth0",),
               config_id: "Optional[str] | list[Optional[str]]" = None) -> LintResult:
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
        config_id: keepalived's ``-i`` (for ``@ID`` lines); a list gives one per file.
    Raises:
        lab.errors.ConfigError: a file cannot be read. Whatever the runner raises (LabError for Docker problems).
    """
    nets = [ipaddress.ip_network(s, strict=False) for s in subnets]
    ids = list(config_id) if isinstance(config_id, (list, tuple)) else [config_id] * len(files)
    members = []
    twice = {str(f) for f in files if [str(x) for x in files].count(str(f)) > 1}
    for f, cid in zip(files, ids):
        cfg = parse_file(f, config_id=cid)
        # one file read for two config ids (its @ID lines) is two members, named FILE@ID
        members.append(Member(f"{f}@{cid}" if str(f) in twice and cid else str(f), from_config(cfg), list(nets)))
    real = {m.file: str(f) for m, f in zip(members, files)}
    diags = lint_members(members, notes=not keepalived_test)
    codes: dict[str, Optional[int]] = {m.file: None for m in members}
    if keepalived_test:
        extra = {}
        for m in members:
            for inc in m.kc.config.files[1:]:
                p = Path(inc).resolve()
                extra[str(p)] = p.read_bytes()
        runs = keepalived_test([real[m.file] for m in members], extra_files=extra, interfaces=interfaces,
                               config_id=ids if len(set(ids)) > 1 else ids[0])
        for m, run in zip(members, runs):
            res = KTestResult(run.file, run.exit_code, parse_output(run.stderr, run.file, run.exit_code), run.stderr)
            # keepalived prints the absolute path; report the path as the user gave it
            abs_ = str(Path(real[m.file]).resolve())
            for km in res.messages:
                if km.file == abs_:
                    km.file = m.file
            codes[m.file] = res.exit_code
            diags += _ktest_diagnostics(m, res)
    return LintResult(sort_diagnostics(diags), codes)


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


def sort_diagnostics(diags: list[Diagnostic]) -> list[Diagnostic]:
    """Drop repeats (same file, line, rule, message); order by file, line, keepalived -t first, rule."""
    seen = set()
    out = []
    for d in diags:
        k = (d.file, d.line, d.rule, d.message)
        if k not in seen:
            seen.add(k)
            out.append(d)
    return sorted(out, key=lambda d: (d.file, d.line or 0, d.rule != "keepalived-t", d.rule))
