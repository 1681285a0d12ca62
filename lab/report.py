"""Reports from a History: a timeline picture (PNG/SVG), a text timeline, an HTML page.

Pure with respect to Docker except :func:`write_report`/:func:`attach_to_item`,
which take a Lab to add node log tails.

Picture: one lane per (node, instance); BACKUP / MASTER / FAULT / DOWN / PAUSED as
coloured bars over time (seconds since the history's start); node faults (kill,
stop, pause, ...) and nemesis faults as shaded windows; the outside view of the
VIP holder as dots; each takeover (a MASTER transition after a fault) annotated
with its delay.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Optional

from .events import Event, node_effect
from .history import History
from .judge import t_in
from .judge.text import timeline_tail

COLORS = {"MASTER": "#2e7d32", "BACKUP": "#90caf9", "FAULT": "#c62828", "STOP": "#616161",
          "DOWN": "#eeeeee", "PAUSED": "#ffb74d"}
FAULT_END = {"kill": "start", "exited": "start", "pause": "unpause", "stop": "start"}


def lanes(history: History) -> list[tuple[str, str]]:
    """(node, instance) pairs that reported any state, in order of first report."""
    out: list[tuple[str, str]] = []
    for e in history.events("state"):
        key = (e["node"], e["instance"])
        if key not in out:
            out.append(key)
    return sorted(out, key=lambda k: (k[1], k[0]))


def segments(history: History, node: str, instance: str, t_end: float) -> list[tuple[float, float, str]]:
    """(start, end, state) runs for one lane, node lifecycle applied (see History.states)."""
    points = sorted({e.t for e in history.events() if e.kind in ("state", "node")} | {t_end})
    segs: list[tuple[float, float, str]] = []
    prev_t, prev_s = None, None
    for t in points:
        s = history.states(instance, at=t).get(node)
        if s != prev_s:
            if prev_s is not None and prev_t is not None:
                segs.append((prev_t, t, prev_s))
            prev_t, prev_s = t, s
    if prev_s is not None and prev_t is not None and prev_t < t_end:
        segs.append((prev_t, t_end, prev_s))
    return segs


def fault_windows(history: History, t_end: float) -> list[tuple[float, float, str]]:
    """(start, end, label) for node lifecycle faults and nemesis faults (open ones end at t_end).

    A nemesis fault that kills or pauses a node also shows as the node's lifecycle; the two are
    one window, labelled with the fault's name.
    """
    windows: list[tuple[float, float, str, object]] = []     # (start, end, label, key)
    open_: dict = {}           # key -> (start, label); key: node name, or ("fault", name, target)
    for e in history.events():
        if e.kind == "node":
            a, n = e["action"], e["node"]
            if node_effect(a, e.get("signal")) in ("down", "down-graceful", "pause") and a != "stop":
                open_.setdefault(n, (e.t, f"{n}: {a}"))
            elif a in ("start", "unpause") and n in open_:
                t0, label = open_.pop(n)
                windows.append((t0, e.t, label, n))
        elif e.kind == "fault":
            key = ("fault", e["name"], e.get("target"))
            if e["action"] == "apply":
                open_[key] = (e.t, f"{e['name']} on {e.get('target')}")
            elif key in open_:
                t0, label = open_.pop(key)
                windows.append((t0, e.t, label, key))
    windows += [(t0, t_end, label, key) for key, (t0, label) in open_.items()]
    fault_starts = [(t0, key[2]) for t0, _, _, key in windows if isinstance(key, tuple)]
    return sorted((t0, t1, label) for t0, t1, label, key in windows
                  if isinstance(key, tuple) or not any(abs(t0 - a) < 0.5 and key == target for a, target in fault_starts))


def label_levels(starts: list[float], widths: list[float]) -> list[int]:
    """Greedy rows for labels starting at ``starts`` (data units) with ``widths``: no two on one row overlap."""
    ends: list[float] = []
    levels = []
    for x, w in sorted(zip(starts, widths), key=lambda p: p[0]):
        row = next((i for i, e in enumerate(ends) if e <= x), len(ends))
        if row == len(ends):
            ends.append(x + w)
        else:
            ends[row] = x + w
        levels.append(row)
    order = sorted(range(len(starts)), key=lambda i: starts[i])
    out = [0] * len(starts)
    for rank, i in enumerate(order):
        out[i] = levels[rank]
    return out


def takeovers(history: History) -> list[tuple[Event, Event]]:
    """(fault event, first MASTER transition of another node after it) pairs.

    Only faults on keepalived nodes count, and a takeover is paired with the latest such fault
    before it (its nearest cause), once.
    """
    keepalived = {n for n, _ in lanes(history)}
    by_master: dict[int, tuple[Event, Event]] = {}
    for f in history.events():
        is_fault = (f.kind == "node" and f["action"] != "stop"
                    and node_effect(f["action"], f.get("signal")) in ("down", "down-graceful", "pause")) \
            or (f.kind == "fault" and f["action"] == "apply")
        if not is_fault:
            continue
        victim = f.get("node") or f.get("target")
        if victim not in keepalived:
            continue
        # from when the fault was issued: its effect may come before the call returned (f.t)
        nxt = next((e for e in history.events("state", since=min(f.t, f.get("t_issued", f.t)))
                    if e["state"] == "MASTER" and e["node"] != victim), None)
        if nxt:
            by_master[id(nxt)] = (f, nxt)            # later faults overwrite: the nearest cause wins
    return sorted(by_master.values(), key=lambda p: p[1].t)


def draw_timeline(history: History, out_base: Path, title: str = "") -> list[Path]:
    """Draw the timeline to ``out_base.png`` and ``out_base.svg``; returns both paths."""
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"   # keep labels as text in the SVG
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    evs = history.events()
    t0 = history.t0
    t_end = (evs[-1].t if evs else t0) + 0.5
    L = lanes(history)
    windows = fault_windows(history, t_end)
    # fault labels stacked in rows above the lanes so that none overlaps another (7 pt text:
    # about 4.3 pt per character on a 12 in wide axis)
    per_pt = (t_end - t0) / (12 * 72 * 0.8)
    levels = label_levels([a - t0 for a, _, _ in windows], [len(lb) * 4.3 * per_pt + 0.1 for _, _, lb in windows])
    rows = max(levels, default=-1) + 1
    fig, ax = plt.subplots(figsize=(12, 1.2 + 0.7 * max(1, len(L)) + 0.22 * rows), dpi=110)
    top = len(L) + (1 if any(e.get("view") == "outside" for e in history.events("vip")) else 0)
    for (a, b, label), lv in zip(windows, levels):
        ax.axvspan(a - t0, b - t0, color="#ffcdd2", alpha=0.5, zorder=0)
        ax.text(a - t0, top - 0.35 + 0.32 * lv, label, fontsize=7, color="#b71c1c", va="bottom")
    for y, (node, inst) in enumerate(reversed(L)):
        for a, b, s in segments(history, node, inst, t_end):
            ax.barh(y, b - a, left=a - t0, height=0.6, color=COLORS.get(s, "#bdbdbd"), edgecolor="black", linewidth=0.3)
            if b - a > 0.8:
                ax.text((a + b) / 2 - t0, y, s, ha="center", va="center", fontsize=7)
    ylabels = [f"{n} / {i}" for n, i in reversed(L)]
    outside = [e for e in history.events("vip") if e.get("view") == "outside"]
    if outside:
        ylabels.append("client sees VIP on")
        y = len(L)
        for e in outside:
            ax.plot(e.t - t0, y, "o", color="black", markersize=3)
            ax.text(e.t - t0, y + 0.15, ",".join(e["holders"]) or "none", fontsize=6, ha="center")
    for f, m in takeovers(history):
        key = (m["node"], m["instance"])
        if key in L:
            ax.annotate(f"{m['node']} MASTER +{m.t - t_in(f):.2f}s after issued", xy=(m.t - t0, len(L) - 1 - L.index(key)),
                        xytext=(0, 14), textcoords="offset points", fontsize=7, ha="center",
                        arrowprops=dict(arrowstyle="->", lw=0.6))
    ax.set_yticks(range(len(ylabels)))
    ax.set_yticklabels(ylabels, fontsize=8)
    ax.set_xlabel("seconds since lab start")
    ax.set_xlim(0, t_end - t0)
    ax.set_ylim(-0.6, max(len(ylabels) + 0.2, top - 0.35 + 0.32 * rows + 0.1))
    ax.set_title(title or "VRRP timeline", fontsize=10)
    ax.legend(handles=[Patch(color=c, label=s) for s, c in COLORS.items()] + [Patch(color="#ffcdd2", label="fault")],
              fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    out_base.parent.mkdir(parents=True, exist_ok=True)
    paths = [out_base.with_suffix(".png"), out_base.with_suffix(".svg")]
    for p in paths:
        fig.savefig(p)
    plt.close(fig)
    return paths


def render_html(history: History, picture: Optional[Path], logs: dict[str, str], title: str) -> str:
    """A self-contained HTML page: the timeline picture (inline SVG), the event table, log tails."""
    svg = picture.with_suffix(".svg").read_text() if picture and picture.with_suffix(".svg").exists() else ""
    svg = svg[svg.find("<svg"):] if "<svg" in svg else svg      # inline: drop the XML prolog and DOCTYPE
    rows = "".join(f"<tr><td>{e.t - history.t0:.3f}</td><td>{e.kind}</td><td>{html.escape(e.describe(history.t0).split('s  ', 1)[-1])}</td></tr>"
                   for e in history.events())
    logs_html = "".join(f"<h3>{html.escape(n)}</h3><pre>{html.escape(t)}</pre>" for n, t in logs.items())
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}} td{{border:1px solid #ccc;padding:2px 6px;font-size:12px}} pre{{background:#f6f6f6;padding:8px;font-size:11px}}</style>
</head><body><h1>{html.escape(title)}</h1>{svg}<h2>Events</h2><table><tr><th>t (s)</th><th>kind</th><th>what</th></tr>{rows}</table>
<h2>Node logs (tail)</h2>{logs_html}</body></html>"""


def write_report(lab, out_dir: Path) -> Path:
    """Write history.jsonl, timeline.png/.svg and report.html for ``lab`` into ``out_dir``; returns the HTML path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lab.history.to_jsonl(out_dir / "history.jsonl")
    pics = draw_timeline(lab.history, out_dir / "timeline", f"{lab.topology.name} (lab {lab.id})")
    logs = {n.name: n.logs(tail=40) for n in lab.nodes.values() if n.kind == "keepalived"}
    page = out_dir / "report.html"
    page.write_text(render_html(lab.history, pics[0], logs, f"keepalived-lab: {lab.topology.name}"))
    return page


def attach_to_item(item, lab) -> None:
    """Add the history and each keepalived node's log tail to a failed pytest item's report."""
    history = timeline_tail(lab.history, 40)
    item.add_report_section("teardown", "lab history", history)   # the call report is already out
    item.user_properties.append(("lab_history", history))         # JUnit XML carries user properties
    for n in lab.nodes.values():
        if n.kind == "keepalived":
            tail = n.logs(tail=25)
            item.add_report_section("teardown", f"log {n.name}", tail)
            item.user_properties.append((f"log_{n.name}", tail))
