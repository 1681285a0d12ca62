"""The demo lab (README's first command): bring up a topology, kill the master, show what happened.

Steps: engine and image (with progress) -> start the lab -> wait for the election
(deadline from the protocol timers) -> status table -> SIGKILL the master ->
measure the takeover from the kill to the backup's MASTER report (notify_fifo,
stamped in the node) -> compare with the master down interval -> outside view
from the client -> timeline picture and HTML report -> tear down.
"""
from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from .lab import Lab
from .timers import MARGIN
from .judge.text import timeline_tail
from .report import write_report
from .status import status_table


def run_demo(topology: str | Path, instance: str = "VI_1", report_dir: Path | None = Path("reports/demo"),
             console: Console | None = None) -> int:
    """Run the demo; returns a process exit code (0: the VIP moved as the rules say)."""
    console = console or Console()
    from .runtime.engine import ensure_engine
    from .runtime.images import ensure_node_image

    client = ensure_engine(install=True, say=lambda m: console.print(f"[dim]{m}[/]"))
    ensure_node_image(client)
    with Lab(topology, say=lambda m: console.print(f"[dim]{m}[/]")) as lab:
        deadline = lab.convergence_deadline(instance)
        with console.status(f"lab {lab.id}: waiting for the VRRP election (deadline {deadline:.1f} s) ..."):
            master = lab.wait_for_master(instance)
        console.print(status_table(lab, f"{lab.topology.name}: converged, {master.name} is MASTER of {instance}"))
        holders_before = lab.vip_holders(instance)
        others = [n for n in lab.keepalived_nodes() if n.name != master.name]
        expected = max(others, key=lambda n: lab.instance_config(n.name, instance).priority)
        mdi = lab.master_down_interval(expected.name, instance)
        adv = lab.instance_config(expected.name, instance).advert_int
        console.print(f"\n[bold]fault:[/] SIGKILL the master [bold]{master.name}[/] (docker kill)")
        t_done = master.kill()
        kill_ev = lab.history.events("node", node=master.name, action="kill")[-1]
        t_kill = kill_ev.get("t_issued", kill_ev.t)        # one clock: every figure counts from the kill issued
        with console.status(f"waiting for a backup to take over (deadline {mdi + MARGIN:.2f} s) ..."):
            ev = lab.wait_for_transition(instance, "MASTER", since=t_kill, timeout=mdi + MARGIN)
        takeover = ev.t - t_kill
        with console.status("the judge: the whole history against the election model ..."):
            try:
                rep = lab.check.assert_matches_model()
                verdict, why = rep.verdict.value, ""
            except AssertionError as e:
                verdict, why = ("violated" if "verdict: violated" in str(e) else "cannot judge"), str(e).split("\n\n")[0]
        holders = lab.vip_holders(instance)
        outside = lab.client.http_get_vip(instance) if lab.topology.client_nodes() else None
        ok = verdict == "holds" and ev["node"] == expected.name and holders == [expected.name]
        console.print(status_table(lab, "after the fault"))
        console.print(Panel.fit(
            f"VIP {lab.vip(instance)} held by {', '.join(holders_before)} before, by {', '.join(holders) or 'nobody'} after "
            f"(client's HTTP answered by: {outside or 'nobody'})\n"
            f"takeover: [bold]{takeover:.3f} s[/] after the kill was issued ({ev.t - t_done:.3f} s after `docker kill` "
            f"returned); {ev['node']} reported MASTER\n"
            f"master down interval of {expected.name}: 3 x {adv:g} s + ({256}-{lab.instance_config(expected.name, instance).priority})/256 s "
            f"= [bold]{mdi:.3f} s[/] (RFC 3768 §6.1); expected window {mdi - adv:.3f} .. {mdi:.3f} s "
            f"after the kill was issued (the last advert left up to one advert_int before it; the judge adds a "
            f"{MARGIN:g} s margin)\n"
            f"the judge (every transition of the history against the model): [bold]{verdict}[/]"
            + (f"\n{escape(why)}" if why else "") + "\n"
            f"verdict: {'[bold green]as the rules say[/]' if ok else '[bold red]NOT as the rules say[/]'}",
            title="what happened"))
        console.print("\n[bold]timeline[/] (seconds since lab start)\n" + timeline_tail(lab.history, len(lab.history)))
        if report_dir:
            page = write_report(lab, report_dir)
            console.print(f"\nreport: {page}  picture: {page.parent / 'timeline.png'}")
    console.print(f"lab {lab.id} removed")
    return 0 if ok else 1
