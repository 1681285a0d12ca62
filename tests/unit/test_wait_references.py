"""A wait after a fault starts from when it was *issued* (``issued_at`` / ``heal_issued_at``), its deadline
from when it was in effect (``clock_from=applied_at`` / ``healed_at``): the effect begins somewhere between
the two (nginx answers before ``docker exec`` returns; a loaded engine returns late). A wait with
``since=...applied_at`` or ``since=...healed_at`` misses an effect that came before the call returned: seen
under ``-n 4``, where a BACKUP 3 ms before ``heal()`` returned timed out. Every test is read for it."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRONG = re.compile(r"since=[\w.\[\]\"']*\.(applied_at|healed_at)\b")
# a wait whose ``since`` is a variable assigned from apply()/heal() (their return values are the finish times)
ASSIGNED = re.compile(r"^\s*(\w+)\s*=\s*[\w.\[\]\"'()]*\.(apply|heal)\(\)", re.M)


def sources():
    for p in sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "lab").rglob("*.py")):
        if p.name != Path(__file__).name:
            yield p, p.read_text()


def test_no_wait_starts_from_when_a_fault_finished():
    bad = []
    for p, text in sources():
        for i, line in enumerate(text.splitlines(), 1):
            if WRONG.search(line):
                bad.append(f"{p.relative_to(ROOT)}:{i}: {line.strip()}")
        for m in ASSIGNED.finditer(text):
            for i, line in enumerate(text.splitlines(), 1):
                if re.search(rf"since={m.group(1)}\b", line):
                    bad.append(f"{p.relative_to(ROOT)}:{i}: since={m.group(1)} (= .{m.group(2)}()): {line.strip()}")
    assert not bad, "waits that start when a fault finished, not when it was issued:\n" + "\n".join(bad)


def test_the_scan_finds_both_forms():
    assert WRONG.search("lab.wait_for_transition('VI_1', 'MASTER', since=f.healed_at, timeout=3)")
    assert WRONG.search("since=stop.applied_at,")
    assert not WRONG.search("since=f.heal_issued_at, clock_from=f.healed_at")
    assert ASSIGNED.search("    t = f.heal()\n").group(1) == "t"
