"""Docs-vs-reality table, produced from a test run (pure; the plugin feeds it).

Tests declare the claim they check:

    @pytest.mark.claim("2.1-preempt", "§2.1: a higher-priority router that joins becomes MASTER at once",
                       source="seed")

A claim's tests may run on several keepalived releases (lab.releases; ``@pytest.mark.every_release`` or
``--lab-keepalived``); each outcome carries its release and the table has one verdict column per release
that ran. Verdicts per claim and release, from the outcomes of its tests on that release:
  holds          every test passed
  differs        at least one strict xfail (the reason states the documented claim and what
                 keepalived does instead)
  not testable   every test skipped (the skip reason says why)
  FAILING        a test failed: the lab or the expectation is broken (never published as a verdict)
Claims whose verdicts differ between releases are listed again under the table, with the reasons.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .releases import DEFAULT_VERSION, RELEASES

START, END = "<!-- conformance:start -->", "<!-- conformance:end -->"


@dataclass
class Claim:
    """One documented claim and the outcomes of the tests that check it:
    ``(test nodeid, outcome, reason, keepalived version)`` each."""

    id: str
    text: str
    source: str = "seed"
    outcomes: list[tuple[str, str, str, str]] = field(default_factory=list)

    def releases(self) -> list[str]:
        """The keepalived versions the claim's tests ran on, oldest first."""
        have = {o[3] for o in self.outcomes}
        return [r.version for r in RELEASES if r.version in have] + sorted(have - {r.version for r in RELEASES})

    def verdict_on(self, release: str | None = None) -> str:
        """The verdict from the outcomes on ``release`` (None: all of them)."""
        kinds = {o[1] for o in self.outcomes if release is None or o[3] == release}
        if "failed" in kinds:
            return "FAILING"
        if "xfailed" in kinds:
            return "differs"
        if kinds == {"skipped"}:
            return "not testable here"
        if kinds and kinds <= {"passed", "skipped"}:
            return "holds"
        return "no result"

    @property
    def verdict(self) -> str:
        """One verdict when every release agrees; ``varies`` when they do not (FAILING wins)."""
        per = {self.verdict_on(r) for r in self.releases()}
        if "FAILING" in per:
            return "FAILING"
        return per.pop() if len(per) == 1 else "varies"

    def why(self, release: str | None = None) -> str:
        """The reasons of the xfails, skips and failures (on ``release``; None: all), without repeats."""
        reasons = [o[2] for o in self.outcomes if o[1] in ("xfailed", "skipped", "failed") and o[2]
                   and (release is None or o[3] == release)]
        return "; ".join(dict.fromkeys(reasons))


def _key(claim_id: str):
    """Sort key: numeric parts numerically, words alphabetically ("2.1-x" < "2.2-a" < "10")."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.\-]", claim_id)]


def _test_name(nodeid: str) -> str:
    """The test's name without its release parameter (``test_x[ka2.3.4]`` -> ``test_x``)."""
    name = nodeid.split("::")[-1]
    name = re.sub(r"(?<=[\[-])ka\d+(\.\d+)*-?|-ka\d+(\.\d+)*(?=\])", "", name)
    return name.replace("[]", "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _columns(claims: dict[str, Claim]) -> list[str]:
    have = {v for c in claims.values() for v in c.releases()} or {DEFAULT_VERSION}
    return [r.version for r in RELEASES if r.version in have] + sorted(have - {r.version for r in RELEASES})


def table(claims: dict[str, Claim]) -> str:
    """Markdown table: claim, source, one verdict column per keepalived release, why, tests."""
    cols = _columns(claims)
    rows = ["| claim | source | " + " | ".join(f"keepalived {v}" for v in cols) + " | what keepalived does / why | tests |",
            "|---|---|" + "---|" * len(cols) + "---|---|"]
    for c in sorted(claims.values(), key=lambda c: _key(c.id)):
        tests = "<br>".join(f"`{t}`" for t in dict.fromkeys(_test_name(o[0]) for o in c.outcomes))
        cells = " | ".join(f"**{c.verdict_on(v)}**" if v in c.releases() else "not run" for v in cols)
        rows.append(f"| {c.text} | {c.source} | {cells} | {_cell(c.why())} | {tests} |")
    return "\n".join(rows)


def differences(claims: dict[str, Claim]) -> str:
    """Markdown list of the claims whose verdict is not the same on every release that ran them ('' if none)."""
    lines = []
    for c in sorted(claims.values(), key=lambda c: _key(c.id)):
        per = {v: c.verdict_on(v) for v in c.releases()}
        if len(set(per.values())) > 1:
            lines.append(f"- **{c.text}**: " + ", ".join(f"{v} {verdict}" for v, verdict in per.items()) + ". "
                         + " ".join(f"On {v}: {_cell(c.why(v))}." for v in per if c.why(v)))
    return "\n".join(lines)


def summary(claims: dict[str, Claim]) -> str:
    """Verdict counts per release: ``keepalived 2.2.7: 33 holds, 11 differs; keepalived 2.3.4: ...``."""
    parts = []
    for v in _columns(claims):
        counts: dict[str, int] = {}
        for c in claims.values():
            if v in c.releases():
                verdict = c.verdict_on(v)
                counts[verdict] = counts.get(verdict, 0) + 1
        parts.append(f"keepalived {v}: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return "; ".join(parts)


def section(claims: dict[str, Claim]) -> str:
    """What goes between the conformance markers: the counts, the table and the differences between releases."""
    body = table(claims)
    diff = differences(claims)
    if diff:
        body += "\n\nWhere the releases differ:\n\n" + diff
    return f"{summary(claims)}\n\n{body}"


def write(claims: dict[str, Claim], out: Path, readme: Path | None = None, header: str = "") -> None:
    """Write the table (and the differences between releases) to ``out`` (a markdown file) and into ``readme``
    between the conformance markers."""
    text = section(claims)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"# Conformance: documented claims vs keepalived {', '.join(_columns(claims))}\n\n{header}\n\n"
                   f"{text}\n")
    if readme and readme.exists():
        old = readme.read_text()
        if START in old and END in old:
            pre, rest = old.split(START, 1)
            _, post = rest.split(END, 1)
            readme.write_text(f"{pre}{START}\n{text}\n{END}{post}")


def _rows(text: str) -> tuple[list[str], set[str]]:
    """The release columns and the claim texts (first cells) of a markdown table as :func:`table` writes it."""
    lines = [ln for ln in text.splitlines() if ln.startswith("| ")]
    if not lines:
        return [], set()
    cols = re.findall(r"keepalived (\S+?) \|", lines[0])
    return cols, {ln[2:].split(" | ", 1)[0] for ln in lines[1:]}


def compare(claims: dict[str, Claim], readme: Path) -> tuple[str, str]:
    """This run's table against the one published in ``readme`` (between the conformance markers).

    Returns ``(status, message)``: ``"same"``; ``"differs"`` with a unified diff of the two; or ``"not compared"``
    when the run did not check every published claim on every published release (a partial run), saying how
    much it checked. Raises FileNotFoundError / ValueError for a missing file or one without the markers."""
    import difflib
    text = readme.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{readme} has no {START} ... {END} section to compare the conformance table with")
    published = text.split(START, 1)[1].split(END, 1)[0].strip("\n")
    ours = section(claims)
    pub_cols, pub_rows = _rows(published)
    cols, rows = _rows(ours)
    if not pub_rows <= rows or cols != pub_cols:
        return "not compared", (f"this run checked {len(rows & pub_rows)} of {len(pub_rows)} claims on keepalived "
                                f"{', '.join(cols) or 'none'} (published: {', '.join(pub_cols)})")
    if published == ours:
        return "same", f"{len(rows)} claims on keepalived {', '.join(cols)}"
    diff = difflib.unified_diff(published.splitlines(), ours.splitlines(), f"{readme} (published)", "this run",
                                lineterm="", n=0)
    return "differs", "\n".join(diff)


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
