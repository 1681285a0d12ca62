"""Docs-vs-reality table, produced from a test run (pure; the plugin feeds it).

Tests declare the claim they check:

    @pytest.mark.claim("2.1-preempt", "§2.1: a higher-priority router that joins becomes MASTER at once",
                       source="seed")

Verdicts per claim, from the outcomes of all its tests:
  holds          every test passed
  differs        at least one strict xfail (the reason states the documented claim and what
                 keepalived 2.2.7 does)
  not testable   every test skipped (the skip reason says why)
  FAILING        a test failed: the lab or the expectation is broken (never published as a verdict)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

START, END = "<!-- conformance:start -->", "<!-- conformance:end -->"


@dataclass
class Claim:
    """One documented claim and the outcomes of the tests that check it."""

    id: str
    text: str
    source: str = "seed"
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)   # (test nodeid, outcome, reason)

    @property
    def verdict(self) -> str:
        kinds = {o for _, o, _ in self.outcomes}
        if "failed" in kinds:
            return "FAILING"
        if "xfailed" in kinds:
            return "differs"
        if kinds == {"skipped"}:
            return "not testable here"
        if kinds and kinds <= {"passed", "skipped"}:
            return "holds"
        return "no result"

    def why(self) -> str:
        reasons = [r for _, o, r in self.outcomes if o in ("xfailed", "skipped", "failed") and r]
        return "; ".join(dict.fromkeys(reasons))


def _key(claim_id: str):
    """Sort key: numeric parts numerically, words alphabetically ("2.1-x" < "2.2-a" < "10")."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.\-]", claim_id)]


def table(claims: dict[str, Claim]) -> str:
    """Markdown table: claim -> verdict -> why -> tests."""
    rows = ["| claim | source | verdict | what keepalived 2.2.7 does / why | tests |", "|---|---|---|---|---|"]
    for c in sorted(claims.values(), key=lambda c: _key(c.id)):
        tests = "<br>".join(f"`{t.split('::')[-1]}`" for t, _, _ in c.outcomes)
        why = c.why().replace("|", "\\|").replace("\n", " ")
        rows.append(f"| {c.text} | {c.source} | **{c.verdict}** | {why} | {tests} |")
    return "\n".join(rows)


def write(claims: dict[str, Claim], out: Path, readme: Path | None = None, header: str = "") -> None:
    """Write the table to ``out`` (a markdown file) and into ``readme`` between the conformance markers."""
    body = table(claims)
    counts = {}
    for c in claims.values():
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"# Conformance: documented claims vs keepalived 2.2.7\n\n{header}\n\n{summary}\n\n{body}\n")
    if readme and readme.exists():
        text = readme.read_text()
        if START in text and END in text:
            pre, rest = text.split(START, 1)
            _, post = rest.split(END, 1)
            readme.write_text(f"{pre}{START}\n{summary}\n\n{body}\n{END}{post}")


class ClaimDiffers(AssertionError):
    """Raised by :func:`expect_claim` when a documented claim does not hold.

    Conformance tests mark known disagreements with
    ``@pytest.mark.xfail(strict=True, raises=ClaimDiffers, reason=...)``, so that any *other*
    failure (a broken lab, a violated RFC precondition) still fails the test.
    """


def expect_claim(condition: bool, message: str) -> None:
    """Assert a documented claim; raise :class:`ClaimDiffers` with ``message`` when it does not hold."""
    if not condition:
        raise ClaimDiffers(message)
