"""keepalived's own config test (``keepalived -t``): its exit codes and its messages (pure).

:func:`parse_output` splits what ``keepalived -t`` printed into :class:`KMessage`
(file, line, block, keyword, severity); the lint turns them into diagnostics.
Running it needs Docker and lives in :mod:`lab.runtime.ktest`, which the CLI
injects into :func:`lab.kaconf.lint.lint_files`.

Exit codes, measured on keepalived 2.2.7 (``enum exit_code`` in its
``lib/scheduler.h``); ``man 8 keepalived`` (Exit status) numbers them one
lower because it predates ``KEEPALIVED_EXIT_PROGRAM_ERROR``:

==  =================================================================
0   OK
1   out of memory
2   program error (cannot initialise subsystems)
3   fatal error
4   configuration cannot be run (file not found, bad interface, fatal)
5   configuration errors; keepalived would run, ignoring or replacing the bad parts
6   scripts are configured but script security is not enabled (SECURITY VIOLATION)
7   no configuration
==  =================================================================
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

__all__ = ["EXIT_MEANING", "KMessage", "KTestResult", "parse_output"]

EXIT_MEANING = {
    0: "OK",
    1: "keepalived ran out of memory",
    2: "program error: keepalived cannot initialise its subsystems",
    3: "fatal error",
    4: "the configuration cannot be run (file not found, bad interface or fatal error)",
    5: "configuration errors: keepalived would run, ignoring or replacing the bad parts",
    6: "SECURITY VIOLATION: scripts are configured but enable_script_security is not set",
    7: "no configuration",
}

_LOC = re.compile(r"^\((?:(?P<file>.+?): )?Line (?P<line>\d+)\) (?P<msg>.*)$")
_INST = re.compile(r"^\((?P<name>[^)\s]+)\):? ")
_WARN = re.compile(r"^WARNING|probably isn't what you want|^Ignoring|ignoring\b|Ignoring\b", re.I)

# words in keepalived's messages -> the keyword they are about (for messages without a line)
_PHRASES = [
    (re.compile(r"State MASTER", re.I), "state"),
    (re.compile(r"authentication", re.I), "authentication"),
    (re.compile(r"preempt.delay", re.I), "preempt_delay"),
    (re.compile(r"nopreempt|no_preempt", re.I), "nopreempt"),
    (re.compile(r"unicast", re.I), "unicast_peer"),
    (re.compile(r"virtual router id", re.I), "virtual_router_id"),
    (re.compile(r"track_interface", re.I), "track_interface"),
    (re.compile(r"track(ed)? script", re.I), "track_script"),
    (re.compile(r"track(ed)? file", re.I), "track_file"),
    (re.compile(r"priority", re.I), "priority"),
    (re.compile(r"advert", re.I), "advert_int"),
    (re.compile(r"VIP|virtual.ip", re.I), "virtual_ipaddress"),
    (re.compile(r"script_security|SECURITY VIOLATION", re.I), "enable_script_security"),
    (re.compile(r"Sync group", re.I), "vrrp_sync_group"),
    (re.compile(r"interface", re.I), "interface"),
]


@dataclass
class KMessage:
    """One line keepalived -t printed: file and line when it said them."""

    text: str
    file: Optional[str] = None
    line: Optional[int] = None
    message: str = ""
    block: Optional[str] = None        # "(VI_1) ..." -> "VI_1"
    keyword: Optional[str] = None
    severity: str = "error"


@dataclass
class KTestResult:
    """keepalived -t on one file: exit code, its meaning, the messages."""

    file: str
    exit_code: int
    messages: list[KMessage] = field(default_factory=list)
    stderr: str = ""

    @property
    def meaning(self) -> str:
        return EXIT_MEANING.get(self.exit_code, f"unknown exit code {self.exit_code}")


def parse_output(stderr: str, main_file: str, exit_code: int) -> list[KMessage]:
    """Split keepalived -t output into messages with file, line, block and keyword.

    ``(FILE: Line N) msg`` and ``(Line N) msg`` (keepalived omits the file for
    some messages; the main file is assumed) carry a location; other lines
    (``(VI_1) State MASTER must match being address owner``) carry at most
    the instance or script name, and the keyword is guessed from the words.
    Severity: "warning" for messages keepalived words as warnings or when the
    exit code is 0, else "error".
    """
    out = []
    for raw in stderr.splitlines():
        text = raw.strip()
        if not text:
            continue
        m = _LOC.match(text)
        km = KMessage(text=text, message=text)
        if m:
            km.file = m["file"] or main_file
            km.line = int(m["line"])
            km.message = m["msg"]
        b = _INST.match(km.message)
        if b:
            km.block = b["name"]
        km.keyword = _keyword_of(km.message)
        km.severity = "warning" if exit_code == 0 or _WARN.search(km.message) else "error"
        out.append(km)
    return out


def _keyword_of(msg: str) -> Optional[str]:
    m = re.search(r"Unknown keyword '([^']+)'", msg)
    if m:
        return m.group(1)
    m = re.search(r"^(?:\([^)]*\):? )?([a-z][a-z0-9_]+) '[^']*' (?:is )?invalid", msg)
    if m:
        return m.group(1)
    for rx, kw in _PHRASES:
        if rx.search(msg):
            return kw
    return None
