"""Refresh the judge's corpus from a run's lab reports: ``python tests/data/collect.py reports/labs``.

Copies each ``<test>/history.jsonl`` written by ``--lab-report`` into tests/data/histories/, cut at the
judge's last "model deadline reached" note (what follows is the fixture's teardown), without its advert events (the judge does not read them; they are most of the size), and lists the source
test of each file in tests/data/histories/SOURCES. Histories without a topology in their meta record
(written before histories were self-contained) are skipped.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "histories"


def main(reports: Path, only: list[str]) -> None:
    OUT.mkdir(exist_ok=True)
    sources = []
    for d in sorted(reports.iterdir()):
        src = d / "history.jsonl"
        if not src.exists() or (only and not any(o in d.name for o in only)):
            continue
        lines = src.read_text().splitlines()
        meta = json.loads(lines[0]) if lines else {}
        if meta.get("kind") != "meta" or "topology" not in meta.get("data", {}):
            continue
        if meta["data"].get("verdict") != "holds":       # only what the judge passed live (not xfail, not failed)
            continue
        recs = [json.loads(l) for l in lines]
        # the lab fixture heals what the test left applied after the judge ran: cut the history at the
        # judge's last "model deadline reached", so it ends where it was judged
        ends = [i for i, r in enumerate(recs) if r.get("kind") == "note"
                and r.get("data", {}).get("text") == "model deadline reached"]
        if ends:
            recs, lines = recs[:ends[-1] + 1], lines[:ends[-1] + 1]
        kept = [l for l, r in zip(lines, recs) if r.get("kind") != "advert"]
        name = re.sub(r"^tests_integration_", "", d.name).replace(".py__", "__")[:90] + ".jsonl"
        (OUT / name).write_text("\n".join(kept) + "\n")
        sources.append(f"{name}\t{d.name}")
    if only:                                   # a partial refresh keeps the other files' sources
        old = (OUT / "SOURCES").read_text().splitlines() if (OUT / "SOURCES").exists() else []
        mine = {s.split("\t")[0] for s in sources}
        sources = sorted([l for l in old if l and l.split("\t")[0] not in mine
                          and (OUT / l.split("\t")[0]).exists()] + sources)
    (OUT / "SOURCES").write_text("\n".join(sources) + "\n")
    print(f"{len(sources)} histories in {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
