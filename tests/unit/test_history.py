"""History: ordering, lifecycle-aware states, event-driven waits, JSON lines round trip."""
import threading
import time

from lab.history import History


def test_states_follow_fifo_and_node_lifecycle():
    h = History()
    h.append("state", t=1, node="a", instance="VI_1", state="BACKUP", priority=150)
    h.append("state", t=2, node="b", instance="VI_1", state="BACKUP", priority=100)
    h.append("state", t=4, node="a", instance="VI_1", state="MASTER", priority=150)
    assert h.masters("VI_1") == ["a"]
    h.append("node", t=5, node="a", action="pause")
    assert h.states("VI_1") == {"a": "PAUSED", "b": "BACKUP"}
    h.append("state", t=8, node="b", instance="VI_1", state="MASTER", priority=100)
    h.append("node", t=9, node="a", action="unpause")
    assert h.masters("VI_1") == ["a", "b"]
    h.append("node", t=10, node="a", action="kill")
    assert h.states("VI_1") == {"a": "DOWN", "b": "MASTER"}
    assert h.states("VI_1", at=4.5) == {"a": "MASTER", "b": "BACKUP"}


def test_late_events_are_inserted_in_time_order():
    h = History()
    h.append("note", t=5, text="x")
    h.append("note", t=3, text="y")
    assert [e.t for e in h.events()] == [3, 5]


def test_wait_for_wakes_on_append_and_times_out():
    h = History()
    threading.Timer(0.05, lambda: h.append("note", text="go")).start()
    t0 = time.monotonic()
    assert h.wait_for(lambda hh: hh.events("note"), timeout=5)
    assert time.monotonic() - t0 < 2
    assert h.wait_for(lambda hh: hh.events("state"), timeout=0.05) is None


def test_jsonl_round_trip(tmp_path):
    h = History()
    h.append("state", t=1.5, node="a", instance="VI_1", state="MASTER", priority=150)
    h.append("fault", t=2.5, name="drop_vrrp", action="apply", target="b")
    h.to_jsonl(tmp_path / "h.jsonl")
    g = History.from_jsonl(tmp_path / "h.jsonl")
    assert [(e.t, e.kind, e.data) for e in g] == [(e.t, e.kind, e.data) for e in h]
    assert g.t0 == h.t0


def test_master_rx_lower_pri_is_an_event_not_a_state():
    # keepalived 2.2.7 writes `INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150` to notify_fifo when a
    # master hears a lower-priority advert; the node stays MASTER
    h = History()
    h.append("state", t=1, node="a", instance="VI_1", state="MASTER", priority=150)
    h.append("state", t=2, node="a", instance="VI_1", state="MASTER_RX_LOWER_PRI", priority=150)
    assert h.masters("VI_1") == ["a"]


def test_priority_change_lines_are_priority_events_and_count_for_priorities():
    # with vrrp_notify_priority_changes keepalived 2.2.7 writes `INSTANCE "VI_1" BACKUP_PRIORITY 120`
    # when a tracked script changes the effective priority (man 5 keepalived.conf, notify_fifo)
    from lab.runtime.node import parse_fifo_line

    ev = parse_fifo_line('12.5 INSTANCE "VI_1" BACKUP_PRIORITY 120')
    assert (ev["kind"], ev["state"], ev["priority"]) == ("priority", "BACKUP", 120)
    assert parse_fifo_line('12.0 INSTANCE "VI_1" BACKUP 100')["kind"] == "state"
    h = History()
    h.append("state", t=12.0, node="a", instance="VI_1", state="BACKUP", priority=100)
    h.append(ev["kind"], t=ev["t"], node="a", instance="VI_1", state=ev["state"], priority=ev["priority"])
    assert h.priorities("VI_1") == {"a": 120}
    assert h.states("VI_1") == {"a": "BACKUP"}
    assert [e["state"] for e in h.events("state")] == ["BACKUP"]


def test_union_seconds_counts_overlaps_once():
    from lab.history import union_seconds

    assert union_seconds([(0, 2), (1, 3), (5, 6), (6, 6)]) == 4
    assert union_seconds([]) == 0


def test_wait_accounting_protocol_spans():
    h = History()
    # met by an event: the protocol span runs from the clock start to keepalived's stamp, not to the return
    t_kill = time.monotonic()
    stamp = t_kill + 0.01
    threading.Timer(0.05, lambda: h.append("state", t=stamp, node="b", instance="VI_1", state="MASTER")).start()
    ev = h.wait_for(lambda hh: next(iter(hh.events("state")), None), timeout=5, clock_start=t_kill)
    w = h.waits[-1]
    assert w.met and w.protocol_end == ev.t == stamp and w.clock_start == t_kill
    # the timer fires no sooner than 0.05 s after t_kill; the wait may have begun well after t_kill on a
    # loaded machine (it began 0.02 s late once, and a bound from its start failed), so bound from t_kill
    assert abs(w.protocol - 0.01) < 1e-9 and w.end - t_kill >= 0.05
    # already true, no event returned: costs nothing
    h.wait_for(lambda hh: "yes", timeout=5)
    assert h.waits[-1].protocol == 0
    # a wait that runs out sat through its whole deadline: all protocol
    h.wait_for(lambda hh: None, timeout=0.05)
    w = h.waits[-1]
    assert not w.met and w.protocol >= 0.05
    assert abs(h.protocol_seconds() - (0.01 + w.protocol)) < 1e-6
    # its slack (a margin the lab adds) is the lab's time, not the protocol's
    h.wait_for(lambda hh: None, timeout=0.2, slack=0.15)
    w = h.waits[-1]
    assert w.end - w.start >= 0.2 and 0.04 <= w.protocol <= (w.end - w.start) - 0.15 + 1e-9


def test_arrival_order_keeps_an_event_stamped_before_the_tail():
    # a follower printing as events come (kalab watch) must not skip an event inserted earlier in time
    from lab.history import History
    h = History()
    h.append("note", t=10.0, text="first")
    h.append("note", t=12.0, text="second")
    seen = len(h.arrived())
    h.append("note", t=11.0, text="stamped earlier, arrived later")
    assert [e["text"] for e in h.events()] == ["first", "stamped earlier, arrived later", "second"]
    assert [e["text"] for e in h.arrived(seen)] == ["stamped earlier, arrived later"]
    assert h.events()[seen:][0]["text"] == "second", "what the watch printed before: the wrong event"
