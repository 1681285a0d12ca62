"""What an ``expect`` step of a scenario file says must hold (lab.scenario.schema): the :class:`Expect` record
and the reader of its keys, each problem named with its line (the keys are documented in lab.scenario.schema
and docs/scenarios.md)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .durations import Duration

__all__ = ["Expect", "ExpectReader", "STATES", "EXPECT_STATES", "EXPECT_KEYS"]

#: states keepalived reports on notify_fifo (man 5 keepalived.conf, notify_fifo)
STATES = ("MASTER", "BACKUP", "FAULT", "STOP")
#: the states an expectation may name: keepalived's, and the lab's for a node that does not run (DOWN) or is
#: frozen (PAUSED; lab.history.History.states)
EXPECT_STATES = STATES + ("DOWN", "PAUSED")
EXPECT_KEYS = ("master", "state", "vip_holders", "vip_answered_by", "effective_priority", "advert", "logged", "judge",
               "within", "settle")


@dataclass(frozen=True)
class Expect:
    """What must hold at an ``expect`` step.

    ``master``: {instance: frozenset of MASTER nodes}; ``state``: {(node, instance): STATE};
    ``vip_holders``: {instance: frozenset of nodes} (inside view); ``vip_answered_by``: {instance: node or
    None} (outside view); ``effective_priority``: {(node, instance): int}; ``advert``: ((node, instance,
    priority), ...) adverts captured since the previous step; ``logged``: {node: regular expression} a
    line of the node's keepalived log (its current run) matches; ``judge``: the judge must hold;
    ``within``: a bound on the MASTER transitions of ``master`` since the previous step (or None)."""

    master: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)
    vip_holders: dict = field(default_factory=dict)
    vip_answered_by: dict = field(default_factory=dict)
    effective_priority: dict = field(default_factory=dict)
    advert: tuple = ()
    logged: dict = field(default_factory=dict)
    judge: bool = False
    within: Optional[Duration] = None
    settle: bool = True


def _names(value, what: str) -> Optional[frozenset]:
    """NODE, [NODES], none/[] as a frozenset; None when it is none of those."""
    if value is None or value == "none" or value == []:
        return frozenset()
    if isinstance(value, str):
        return frozenset([value])
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    return None


class ExpectReader:
    """The ``expect`` part of the scenario reader (a mixin of lab.scenario.schema's reader: it uses its
    ``p`` problems, ``topo``, and its ``node``, ``instance``, ``duration``, ``per_instance``, ``per_node``)."""

    def expect(self, loc: tuple, value) -> Optional[Expect]:
        if not isinstance(value, dict) or not value:
            self.p.add(loc, f"give what must hold: {{{', '.join(EXPECT_KEYS)}}}, e.g. {{master: b}}")
            return None
        for k in value:
            if k not in EXPECT_KEYS:
                self.p.add(loc + (k,), f"no expectation {k!r} (expectations: {', '.join(EXPECT_KEYS)})")
        if set(value) <= {"within", "settle"}:
            self.p.add(loc, "give what must hold (master:, state:, ...); within: and settle: only say when")
            return None

        def nodes_of(where, v):
            s = _names(v, "nodes")
            if s is None:
                self.p.add(where, "give a node, a list of nodes, or none")
                return frozenset()
            for n in s:
                self.node(where, n)
            return s

        def one_of(where, v):
            if v is None or v == "none":
                return None
            if isinstance(v, str):
                return self.node(where, v)
            self.p.add(where, "give the node that answers, or none")
            return None

        def state_of(where, v):
            if str(v).upper() not in EXPECT_STATES:
                self.p.add(where, f"no state {v!r}; states: {', '.join(EXPECT_STATES)}")
            return str(v).upper()

        def prio_of(where, v):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 255:
                self.p.add(where, f"an effective priority is a whole number 0..255, not {v!r}")
                return 0
            return v

        kw: dict = {}
        if "master" in value:
            kw["master"] = self.per_instance(loc + ("master",), value["master"], nodes_of)
        if "vip_holders" in value:
            kw["vip_holders"] = self.per_instance(loc + ("vip_holders",), value["vip_holders"], nodes_of)
        if "vip_answered_by" in value:
            if not self.topo.client_nodes():
                self.p.add(loc + ("vip_answered_by",), "the topology has no client node to ask the VIP from; add "
                                                       "one (kind: client) or use vip_holders")
            kw["vip_answered_by"] = self.per_instance(loc + ("vip_answered_by",), value["vip_answered_by"], one_of)
        if "state" in value:
            kw["state"] = self.per_node(loc + ("state",), value["state"], state_of)
        if "effective_priority" in value:
            kw["effective_priority"] = self.per_node(loc + ("effective_priority",), value["effective_priority"], prio_of)
        if "advert" in value:
            kw["advert"] = self.adverts(loc + ("advert",), value["advert"])
        if "logged" in value:
            kw["logged"] = self.logged(loc + ("logged",), value["logged"])
        if "judge" in value:
            if value["judge"] != "holds":
                self.p.add(loc + ("judge",), "write judge: holds (a scenario where keepalived breaks its documented "
                                             "rules is an xfail: with the reason)")
            kw["judge"] = True
        if "within" in value:
            kw["within"] = self.duration(loc + ("within",), value["within"])
        if "settle" in value:
            if not isinstance(value["settle"], bool):
                self.p.add(loc + ("settle",), "settle is true (the default: first wait for the model's deadline) or "
                                              "false (check the lab as it is now, e.g. during a delay)")
            kw["settle"] = value["settle"] is not False
        return Expect(**kw)

    def adverts(self, loc: tuple, value) -> tuple:
        """{from: NODE, priority: P[, instance: I]} or a list of them -> ((node, instance, priority), ...)."""
        items = value if isinstance(value, list) else [value]
        out = []
        for i, a in enumerate(items):
            where = loc + ((i,) if isinstance(value, list) else ())
            if not isinstance(a, dict) or not {"from", "priority"} <= set(a) or set(a) - {"from", "priority", "instance"}:
                self.p.add(where, "give {from: NODE, priority: P[, instance: I]}: an advert captured since the "
                                  "previous step (priority 0: the node resigns, RFC 3768 §6.4.3)")
                continue
            node = self.node(where + ("from",), a["from"])
            inst = self.instance(where + ("instance",), a.get("instance"))
            p = a["priority"]
            if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= 255:
                self.p.add(where + ("priority",), f"an advert's priority is 0..255, not {p!r}")
                continue
            if node and inst:
                out.append((node, inst, p))
        return tuple(out)

    def logged(self, loc: tuple, value) -> dict:
        """{NODE: REGEX} -> {node: pattern}; the pattern must compile."""
        import re
        if not isinstance(value, dict) or not value:
            self.p.add(loc, "give {NODE: TEXT}: a regular expression a line of the node's keepalived log matches")
            return {}
        out = {}
        for n, rx in value.items():
            if self.node(loc + (n,), n) is None:
                continue
            try:
                re.compile(str(rx))
            except re.error as e:
                self.p.add(loc + (n,), f"not a regular expression ({e}); escape ( ) [ ] . with a backslash")
                continue
            out[n] = str(rx)
        return out
