"""keepalived-lab benchmark: the lab's overhead against the protocol's own clock.

Run: ``./run bench`` (or ``.venv/bin/python bench/bench.py [--reps N] [--quick]``).
Prints a table of ratios and writes ``bench/results.json``. Never part of the test suite.

Every figure is measured side by side in the same run:
* images: cold build (no cache, throwaway tag) vs warm "already built" check;
* lab up: Lab start -> settled MASTER, for 2, 3 and 5 nodes, next to the topology's MDI
  (the first election needs one master down interval of the highest-priority node);
* takeover detection: after SIGKILL / pause of the master, the time until the lab *reports*
  the new master (wait returns), divided by the new master's MDI; after SIGTERM (keepalived
  sends priority-0 adverts, RFC 3768 §6.4.2), divided by the skew time; median and worst of N;
* the reference harness beside it: what peers do (start the containers, fixed sleeps,
  poll `ip addr` every second) on the same topology for the same measurements;
* scale curve: 1, 2, 4, 8, 16, 32 two-node labs at once (threads): convergence, a SIGKILL takeover in
  every lab at once over the MDI, memory per node, load, cross-lab adverts (must be 0), the knee;
* fast clock: the takeover scenarios with VRRPv3, advert_int 0.1 s; scenarios per minute;
* suite: wall time of tests/integration / the protocol waits its scenarios needed
  (``pytest --lab-timing``; see bench_suite).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from lab.lab import Lab  # noqa: E402
from lab.timers import MARGIN  # noqa: E402
from lab.timers import master_down_interval  # noqa: E402
from lab.topology import find, load, validate  # noqa: E402

console = Console()


def n_node(n: int, advert_int: float = 1.0, version: int | None = None, name: str | None = None):
    """A topology with ``n`` keepalived nodes (priorities 150, 140, ...) and a client, built in Python."""
    inst = {"state": "BACKUP", "interface": "eth0", "virtual_router_id": 51, "advert_int": advert_int,
            "virtual_ipaddress": ["lan+200/24"]}
    if version:
        inst["version"] = version
    nodes = {f"n{i}": {"interfaces": {"eth0": {"network": "lan"}},
                       "vrrp_instances": {"VI_1": {"priority": 150 - 10 * i}}} for i in range(n)}
    nodes["client"] = {"kind": "client", "interfaces": {"eth0": {"network": "lan"}}}
    return validate({"name": name or f"bench_{n}", "networks": {"lan": {}}, "vrrp_instances": {"VI_1": inst},
                     "nodes": nodes}, "<bench>")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


# ----------------------------------------------------------------------------- images
def bench_images(res: dict) -> None:
    from lab.runtime.engine import ensure_engine
    from lab.runtime.images import ensure_base, ensure_node_image, images_dir
    client = ensure_engine(install=False)
    tag = ensure_node_image(client, quiet=True)
    t = time.monotonic()
    for _ in range(5):
        ensure_node_image(client, quiet=True)
    warm = (time.monotonic() - t) / 5
    base = ensure_base(client)
    t = time.monotonic()
    for _chunk in client.api.build(path=str(images_dir() / "node"), tag="kalab/bench-cold:latest", nocache=True,
                                   buildargs={"BASE": base}, rm=True, forcerm=True, decode=True,
                                   labels={"io.kalab.image": "bench"}):
        pass
    cold = time.monotonic() - t
    client.images.remove("kalab/bench-cold:latest", force=True)
    res["images"] = {"tag": tag, "warm_check_s": warm, "cold_build_s": cold, "base": base}


# ----------------------------------------------------------------------------- lab up
def bench_up(res: dict, sizes=(2, 3, 5)) -> None:
    out = {}
    for n in sizes:
        topo = n_node(n)
        t = time.monotonic()
        with Lab(topo) as lab:
            lab.wait_for_master("VI_1")
            up = time.monotonic() - t
            h = lab.history

            def first(kind, **kw):
                ev = h.events(kind, **kw)
                return round(ev[0].t - t, 4) if ev else None
            # where the time went: the lab's own phases, then keepalived's (n0, the winner)
            where = {**lab.start_phases, "n0 keepalived ready": first("node", node="n0", action="ready"),
                     "n0 BACKUP reported": first("state", node="n0", state="BACKUP"),
                     "n0 MASTER reported": first("state", node="n0", state="MASTER"), "wait returned": round(up, 4)}
        mdi = master_down_interval(150)          # the first election waits the top node's MDI
        out[n] = {"up_s": up, "mdi_s": mdi, "over_mdi_s": up - mdi, "where": where}
        console.print(f"  {n} nodes: up {up:.2f} s = MDI {mdi:.2f} s + {up - mdi:.2f} s; " +
                      ", ".join(f"{k} {v:.2f}" for k, v in where.items() if v is not None))
    res["lab_up"] = out


# ----------------------------------------------------------------------------- takeover
def _one_takeover(lab: Lab, fault: str) -> dict:
    master = lab.wait_for_master("VI_1")
    backup = "n1"
    if fault == "kill":
        t_f = master.kill()
    elif fault == "pause":
        t_f = master.pause()
    else:
        t_f = master.kill("SIGTERM")
    ev = lab.wait_for_transition("VI_1", "MASTER", node=backup, since=t_f,
                                 timeout=lab.master_down_interval(backup, "VI_1") + MARGIN)
    seen = time.monotonic()
    # the protocol's clock starts at the master's last advert before the fault (RFC 3768 §6.4.2: the
    # backup's Master_Down_Timer is reset by each advert), or at its priority-0 advert after SIGTERM
    src = str(master.address)
    adv = [e for e in lab.history.events("advert", src=src) if e.t <= ev.t]
    if fault == "sigterm":
        # keepalived may send it before the kill call returns (t_f is taken after delivery)
        zero = [e for e in adv if e["priority"] == 0 and e.t >= t_f - 1.0]
        t_clock = zero[0].t if zero else None
    else:
        before = [e for e in adv if e.t <= t_f and e["priority"] > 0]
        t_clock = before[-1].t if before else None
    # restore: the former master comes back (thawed it is still MASTER; restarted it preempts)
    if fault == "pause":
        master.unpause()
    else:
        master.start()
    deadline = time.monotonic() + lab.convergence_deadline("VI_1")
    while lab.wait_for_master("VI_1", timeout=max(0.1, deadline - time.monotonic())).name != master.name:
        lab.history.wait_for(lambda h, n=len(lab.history): len(h) > n, max(0.1, deadline - time.monotonic()))
    return {"protocol_s": ev.t - t_f, "seen_s": seen - t_f,
            "seen_from_advert_s": (seen - t_clock) if t_clock is not None else None}


def _takeovers(lab: Lab, reps: int, label: str = "") -> dict:
    """kill / pause / SIGTERM takeovers, ``reps`` each, with their floors (MDI, MDI, skew time)."""
    out = {}
    mdi, skew = lab.master_down_interval("n1", "VI_1"), lab.skew_time("n1", "VI_1")
    for fault, floor in (("kill", mdi), ("pause", mdi), ("sigterm", skew)):
        runs = []
        for i in range(reps):
            with console.status(f"{label}takeover after {fault} {i + 1}/{reps}"):
                runs.append(_one_takeover(lab, fault))
        seen = [r["seen_s"] for r in runs]
        from_adv = [r["seen_from_advert_s"] for r in runs if r["seen_from_advert_s"] is not None]
        out[fault] = {"floor_s": floor, "median_seen_s": statistics.median(seen), "worst_seen_s": max(seen),
                      "median_ratio_from_advert": statistics.median(from_adv) / floor if from_adv else None,
                      "worst_ratio_from_advert": max(from_adv) / floor if from_adv else None,
                      "median_protocol_s": statistics.median(r["protocol_s"] for r in runs),
                      "median_ratio": statistics.median(seen) / floor, "worst_ratio": max(seen) / floor, "runs": runs}
    return out


def bench_takeover(res: dict, reps: int) -> None:
    with Lab(n_node(2)) as lab:
        res["takeover"] = _takeovers(lab, reps)


# ----------------------------------------------------------------------------- reference harness
def bench_reference(res: dict, reps: int) -> None:
    """What peers do: start containers, sleep a fixed 10 s, poll `ip addr` once a second after a kill."""
    from lab.runtime.engine import ensure_engine
    client = ensure_engine(install=False)
    lab = Lab(n_node(2))
    lab.start()                    # same containers and config; we only *observe* the peers' way
    try:
        t = time.monotonic()
        time.sleep(10)             # the peers' fixed settle sleep
        holders = lab.vip_holders("VI_1")
        up = time.monotonic() - t + (lab.started_at - lab.history.t0)
        seen = []
        for _ in range(reps):
            master = lab.node(holders[0]) if holders else lab.node("n0")
            t_f = time.monotonic()
            master.kill()
            while True:            # poll every second
                time.sleep(1)
                h = lab.vip_holders("VI_1")
                if h and h[0] != master.name:
                    seen.append(time.monotonic() - t_f)
                    break
            master.start()
            time.sleep(10)         # fixed re-settle sleep
            holders = lab.vip_holders("VI_1")
        res["reference"] = {"up_s": up, "median_seen_s": statistics.median(seen), "worst_seen_s": max(seen)}
    finally:
        lab.stop()
    _ = client


# ----------------------------------------------------------------------------- parallel
def _mem_mb(container) -> float:
    s = container.stats(stream=False)
    return s["memory_stats"].get("usage", 0) / 2**20


def _settled(lab: Lab, t_start: float) -> float:
    """Seconds from ``t_start`` (just before Lab.start) to n0's first MASTER report (the settled election)."""
    ev = lab.history.events("state", node="n0", instance="VI_1", state="MASTER")
    return ev[0].t - t_start if ev else float("nan")


def _kill_takeover(lab: Lab) -> dict:
    """SIGKILL n0 (the master); the time until the lab reports n1 MASTER, from the kill and from n0's last
    advert before it (where the protocol's clock starts, RFC 3768 §6.4.2), over n1's MDI."""
    master, floor = lab.node("n0"), lab.master_down_interval("n1", "VI_1")
    t_f = master.kill()
    lab.wait_for_transition("VI_1", "MASTER", node="n1", since=t_f, timeout=floor + MARGIN + 30)
    seen = time.monotonic()
    before = [e.t for e in lab.history.events("advert", src=str(master.address)) if e.t <= t_f and e["priority"] > 0]
    return {"from_kill": (seen - t_f) / floor, "from_advert": (seen - before[-1]) / floor if before else None}


def bench_scale(res: dict, counts=(1, 2, 4, 8, 16, 32)) -> None:
    """k two-node labs at once (one thread each, as k xdist workers would): convergence (start -> n0 MASTER)
    over the MDI, a SIGKILL takeover in every lab at once over the MDI, memory per node (engine stats),
    load average, and adverts or VIPs that crossed labs (must be 0)."""
    import ipaddress
    out = {}
    for k in counts:
        labs = [Lab(n_node(2, name=f"bench_scale_{k}_{i}")) for i in range(k)]
        starts: dict[int, float] = {}
        t = time.monotonic()

        def up(i):
            starts[i] = time.monotonic()
            labs[i].start()
            return labs[i].wait_for_master("VI_1", timeout=120).name
        try:
            with console.status(f"scale curve: {k} labs at once"), ThreadPoolExecutor(max_workers=k) as pool:
                masters = list(pool.map(up, range(k)))
                wall = time.monotonic() - t
                load = os.getloadavg()[0]
                conv = [_settled(lb, starts[i]) for i, lb in enumerate(labs)]
                mems = list(pool.map(lambda n: _mem_mb(n.container), [n for lb in labs for n in lb.keepalived_nodes()]))
                # no node holds another lab's VIP (while every node runs)
                foreign_vips = sum(pool.map(lambda lb: sum(1 for o in labs if o is not lb and any(
                    n.holds(v) for n in lb.keepalived_nodes() for v in o.vips("VI_1"))), labs))
                takeovers = list(pool.map(_kill_takeover, labs))
            mdi = master_down_interval(150)
            cross = foreign_vips
            for lb in labs:      # every advert a lab's capture saw came from that lab's own subnet
                nets = list(lb.subnets.values())
                cross += sum(1 for a in lb.history.events("advert")
                             if not any(ipaddress.ip_address(a["src"]) in n for n in nets))
            from_adv = [x["from_advert"] for x in takeovers if x["from_advert"] is not None]
            out[k] = {"labs": k, "converged": sum(m == "n0" for m in masters), "wall_s": wall, "load1": load,
                      "mdi_s": mdi, "converge_median_s": statistics.median(conv), "converge_worst_s": max(conv),
                      "takeover_median_from_advert": statistics.median(from_adv) if from_adv else None,
                      "takeover_worst_from_advert": max(from_adv) if from_adv else None,
                      "takeover_median_from_kill": statistics.median(x["from_kill"] for x in takeovers),
                      "mem_per_node_mb": statistics.mean(mems), "cross_lab": cross,
                      "adverts_checked": sum(len(lb.history.events("advert")) for lb in labs)}
            console.print(f"  {k} labs: {out[k]['converged']}/{k} converged, start -> MASTER median "
                          f"{out[k]['converge_median_s']:.2f} s (MDI {mdi:.2f} s), takeover / MDI from the advert "
                          f"{out[k]['takeover_median_from_advert']}, {out[k]['cross_lab']} cross-lab, load {load:.1f}")
        finally:
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda lb: lb.stop(), labs))
    knee = next((k for k, v in out.items() if v["converged"] < k or (v["takeover_median_from_advert"] or 9) > 1.05), None)
    res["scale"] = {"counts": out, "knee": knee}


# ----------------------------------------------------------------------------- fast clock
def bench_fast(res: dict, reps: int) -> None:
    """The takeover scenarios again with VRRPv3 and advert_int 0.1 s (RFC 5798 timers in centiseconds)."""
    with Lab(n_node(2, advert_int=0.1, version=3, name="bench_fast")) as lab:
        lab.wait_for_master("VI_1")
        t = time.monotonic()
        out = _takeovers(lab, reps, "fast clock: ")
        wall = time.monotonic() - t
    res["fast_clock"] = {"takeover": out, "scenarios": 3 * reps, "wall_s": wall,
                         "scenarios_per_min": 3 * reps / wall * 60}


def bench_explore(res: dict, labs=(1, 2, 4), budget: float = 120.0) -> None:
    """kalab explore's throughput: judged schedules per minute on two_node at the fast clock with the default
    fault kinds, for each count of labs at once; each step's protocol floor is the explorer's hold (twice the
    longest master down interval), so a schedule's floor is its steps x that hold."""
    from lab.explore.search import Search, dwell, fast_clock
    topo = load(find("two_node", [ROOT / "topologies"]))
    hold = dwell(fast_clock(topo))
    out = {}
    for k in labs:
        s = Search(topo, seed=1000 + k, labs=k, budget=budget, out=ROOT / "reports" / "bench-explore")
        load0 = os.getloadavg()[0]
        summ = s.run()
        floor = summ.steps * hold
        out[str(k)] = {"labs": k, "judged": summ.judged, "per_min": summ.per_minute, "wall_s": summ.seconds,
                       "steps": summ.steps, "schedule_s": summ.schedule_seconds, "floor_s": floor,
                       "ratio": summ.schedule_seconds / floor if floor else None, "hold_s": hold,
                       "verdicts": summ.verdicts, "findings": len(summ.findings), "load1": os.getloadavg()[0],
                       "load1_before": load0}
        console.print(f"explore, {k} lab(s): {summ.judged} judged in {summ.seconds:.0f} s = {summ.per_minute:.1f}/min; "
                      f"schedules {summ.schedule_seconds:.0f} s vs floor {floor:.0f} s; findings {len(summ.findings)}")
    res["explore"] = out


# ----------------------------------------------------------------------------- suite
def bench_suite(res: dict, timing: Path | None) -> None:
    """Integration suite wall time / the protocol waits its scenarios needed.

    Runs ``pytest tests/integration --lab-timing FILE`` (the plugin adds up, per lab, the spans
    the protocol itself took: from the event that started its clock to keepalived's stamp of
    the awaited transition, or to the deadline of a wait that proves nothing happens;
    lab.history.Wait) unless ``timing`` names such a file from an earlier run (e.g. CI's).
    """
    if timing is None:
        timing = ROOT / "reports" / "bench-suite-timing.json"
        cmd = [sys.executable, "-m", "pytest", "tests/", "-q", "-p", "no:cacheprovider", "-n", "auto",
               "--dist", "worksteal", f"--lab-timing={timing}"]     # the README's test command
        console.print(f"  running {' '.join(cmd[2:])} (about 10 min on 2 cores)")
        t = time.monotonic()
        rc = subprocess.run(cmd, cwd=ROOT).returncode
        wall = time.monotonic() - t
    else:
        rc, wall = None, None
    d = json.loads(timing.read_text())
    res["suite"] = {"source": str(timing), "pytest_exit": rc, "wall_s": wall or d["session_wall"],
                    "session_wall_s": d["session_wall"], "lab_tests": d["lab_tests"], "labs": d["labs"],
                    "lab_tests_s": d["lab_tests_duration"], "protocol_s": d["protocol_waits"],
                    "ratio": d["session_wall"] / d["protocol_waits"],
                    "lab_tests_ratio": d["lab_tests_duration"] / d["protocol_waits"], "workers": d.get("workers")}


# ----------------------------------------------------------------------------- report
def _from_adv(d: dict) -> str:
    """The ratio measured from the advert that started the protocol's clock, when captured."""
    if d.get("median_ratio_from_advert") is None:
        return ""
    return f" (from the advert: {d['median_ratio_from_advert']:.2f} / {d['worst_ratio_from_advert']:.2f})"


def print_table(res: dict) -> None:
    t = Table(title="keepalived-lab benchmark (ratios: lower is better; 1.00 = the protocol's floor)")
    for c in ("measure", "lab", "reference harness", "protocol floor", "ratio", "target"):
        t.add_column(c)
    if "images" in res:
        i = res["images"]
        t.add_row("image: warm check", f"{i['warm_check_s'] * 1000:.0f} ms", "-", "-", "-", "<= 1 s")
        t.add_row("image: cold build", f"{i['cold_build_s']:.1f} s", "-", "-", "-", "-")
    for n, u in res.get("lab_up", {}).items():
        ref = res.get("reference", {}).get("up_s") if str(n) == "2" else None
        t.add_row(f"lab up, {n} nodes", f"{u['up_s']:.2f} s", f"{ref:.2f} s" if ref else "-", f"MDI {u['mdi_s']:.2f} s",
                  ratio(u["up_s"], u["mdi_s"]), "<= MDI + 1.5 s")
    ref = res.get("reference", {})
    for fault, d in res.get("takeover", {}).items():
        t.add_row(f"takeover seen after {fault} (median / worst)", f"{d['median_seen_s']:.2f} / {d['worst_seen_s']:.2f} s",
                  f"{ref['median_seen_s']:.2f} / {ref['worst_seen_s']:.2f} s" if ref and fault == "kill" else "-",
                  f"{'skew' if fault == 'sigterm' else 'MDI'} {d['floor_s']:.2f} s",
                  f"{d['median_ratio']:.2f} / {d['worst_ratio']:.2f}" + _from_adv(d), "median <= 1.05")
    for k, p in res.get("scale", {}).get("counts", {}).items():
        t.add_row(f"scale: {k} two-node labs at once", f"{p['converged']}/{p['labs']} converged, start -> MASTER "
                  f"{p['converge_median_s']:.2f} / {p['converge_worst_s']:.2f} s; {p['cross_lab']} cross-lab of "
                  f"{p['adverts_checked']} adverts; {p['mem_per_node_mb']:.1f} MB/node; load {p['load1']:.1f}",
                  "-", f"MDI {p['mdi_s']:.2f} s", f"takeover {p['takeover_median_from_advert'] or float('nan'):.3f} / "
                  f"{p['takeover_worst_from_advert'] or float('nan'):.3f}", "<= 1.05 at 16; all converge, 0 cross-lab")
    if "fast_clock" in res:
        f = res["fast_clock"]
        for fault, d in f["takeover"].items():
            t.add_row(f"fast clock (v3, 0.1 s): {fault} takeover", f"{d['median_seen_s']:.3f} / {d['worst_seen_s']:.3f} s",
                      "-", f"{'skew' if fault == 'sigterm' else 'MDI'} {d['floor_s']:.3f} s",
                      f"{d['median_ratio']:.2f} / {d['worst_ratio']:.2f}" + _from_adv(d), "-")
        t.add_row("fast clock: scenarios per minute", f"{f['scenarios_per_min']:.0f} ({f['scenarios']} in {f['wall_s']:.0f} s)",
                  "-", "-", "-", "-")
    for k, e in res.get("explore", {}).items():
        t.add_row(f"explore: {k} lab(s) at once, judged schedules per minute", f"{e['per_min']:.1f} ({e['judged']} in "
                  f"{e['wall_s']:.0f} s; {e['findings']} finding(s))", "-", f"hold {e['hold_s']:.2f} s per step",
                  f"{e['ratio']:.2f}" if e.get("ratio") else "-", ">= 100 per minute")
    if "suite" in res:
        u = res["suite"]
        t.add_row(f"suite: wall / protocol waits ({u['lab_tests']} lab tests, {u['labs']} labs, "
                  f"{u.get('workers') or 1} workers)",
                  f"{u['session_wall_s']:.0f} s (lab tests {u['lab_tests_s']:.0f} s)", "-",
                  f"protocol waits {u['protocol_s']:.0f} s", f"{u['ratio']:.2f} (lab tests {u['lab_tests_ratio']:.2f})",
                  "<= 0.5")
    console.print(t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="3 repetitions, no cold build, parallel up to 4")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    ap.add_argument("--suite-timing", type=Path, default=None, metavar="FILE",
                    help="take the suite figures from a `pytest --lab-timing FILE` run instead of running "
                         "the README's test command (about 10 min)")
    ap.add_argument("--no-suite", action="store_true", help="skip the suite figures")
    ap.add_argument("--only", action="append", default=[], metavar="STEP",
                    help="run only this step (repeatable: images, lab up, takeover, reference harness, scale, "
                         "fast clock, explore, suite) and update its figures in --out, keeping the others")
    a = ap.parse_args()
    reps = 3 if a.quick else a.reps
    res: dict = json.loads(a.out.read_text()) if a.only and a.out.exists() else {}
    res["machine"] = {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()}
    if not a.only:
        res.update({"reps": reps, "date": time.strftime("%Y-%m-%d %H:%M:%S")})
    steps = [("images", lambda: bench_images(res)) if not a.quick else None,
             ("lab up", lambda: bench_up(res)),
             ("takeover", lambda: bench_takeover(res, reps)),
             ("reference harness", lambda: bench_reference(res, max(3, reps // 3))),
             ("scale", lambda: bench_scale(res, (1, 2, 4) if a.quick else (1, 2, 4, 8, 16, 32))),
             ("fast clock", lambda: bench_fast(res, reps)),
             ("explore", lambda: bench_explore(res, (1, 2) if a.quick else (1, 2, 4), 60.0 if a.quick else 120.0)),
             ("suite", lambda: bench_suite(res, a.suite_timing)) if not a.no_suite else None]
    unknown = set(a.only) - {st[0] for st in steps if st}
    if unknown:
        ap.error(f"unknown step(s) {', '.join(sorted(unknown))}; steps: {', '.join(st[0] for st in steps if st)}")
    for s in filter(None, steps):
        name, fn = s
        if a.only and name not in a.only:
            continue
        if a.only:
            res.setdefault("updated", {})[name] = time.strftime("%Y-%m-%d %H:%M:%S")
        console.print(f"[bold]bench:[/] {name} ...")
        fn()
        a.out.write_text(json.dumps(res, indent=2, default=str))
    print_table(res)
    console.print(f"results: {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
