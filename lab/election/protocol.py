"""Who wins (pure): the protocol played forward on who hears whom.

A mixin of :class:`lab.election.model.ElectionModel` (it uses the model's ``specs``, ``blocked``,
``cut``, ``effective_priority``, ``candidates``, ``_start_race``, ``started_at`` and ``race``):
masters that hear a better master step down (RFC 3768 §6.4.3); a backup that hears no advert it
accepts (§6.4.2) times out and becomes MASTER, the shortest master down interval first; adverts a
receiver must discard (§7.1) count as none; every order the rules leave open gives its own outcome.
"""
from __future__ import annotations

from typing import Iterable, Optional

from .rules import (applies, R_ADDR_LIST, R_BACKUP_ACCEPTS, R_BLOCKED, R_DISCARD, R_VRID, R_ROGUE, R_EQUAL_BACKUP, R_HEARING, R_HIGHEST,  # noqa: F401
                    R_MASTERS_MEET, R_NOPREEMPT, R_PREEMPT)


#: the name of a forged sender (the rogue fault): a master that sends for ever and is not a lab node
ROGUE = "~rogue"


class ProtocolMixin:
    """The settling rules of the election model (see the module docstring). A forged sender of a
    well-formed advert (``self.rogues[instance]`` = its priority) takes part as :data:`ROGUE`: a master
    every node hears, that never steps down or times out; it is left out of the outcomes (no lab node)."""

    def _key(self, instance: str, node: str) -> tuple:
        if node == ROGUE:
            return (self.rogues[instance], -1)
        spec = self.specs[instance][node]
        return (self.effective_priority(node, instance), int(spec.primary_ip) if spec.primary_ip else -1)

    def _best(self, instance: str, nodes: Iterable[str], by_ip: bool = True) -> list[str]:
        """The winners by (priority, primary IP); several if tied and IPs unknown or not deciding.

        ``by_ip`` False: a race of backups (whichever times out first wins; R_EQUAL_BACKUP).
        """
        nodes = list(nodes)
        if not nodes:
            return []
        top = max(self._key(instance, n) for n in nodes)
        if top[1] == -1 or not by_ip:   # ties stay open
            return [n for n in nodes if self._key(instance, n)[0] == top[0]]
        return [n for n in nodes if self._key(instance, n) == top]

    def hears(self, receiver: str, sender: str, instance: Optional[str] = None) -> bool:
        """Whether ``receiver`` receives and accepts ``sender``'s adverts now (R_HEARING): not deaf
        (AdvertsBlocked), the pair not cut (Hearing), and, for ``instance``, adverts the receiver does
        not discard (:meth:`discards`)."""
        if receiver in self.blocked or (receiver, sender) in self.cut:
            return False
        if ROGUE in (receiver, sender):      # its adverts copy the instance's settings: none is discarded
            return True
        return instance is None or self.discards(instance, receiver, sender) is None

    def discards(self, instance: str, receiver: str, sender: str) -> Optional[str]:
        """The rule by which ``receiver`` discards every advert of ``sender`` in ``instance``, or None.

        R_VRID (another virtual_router_id), R_DISCARD (another version or authentication; in VRRPv2
        another advert_int), R_ADDR_LIST (another VIP set; both sets known; only where the receiver's keepalived
        release discards such adverts, rules.RELEASE_RANGES: from 2.3.3 on it accepts them,
        R_ADDR_LIST_ACCEPTED). A forged sender copies the instance's settings: never discarded.
        """
        if ROGUE in (receiver, sender):
            return None
        r, s = self.specs[instance][receiver], self.specs[instance][sender]
        if r.vrid is not None and s.vrid is not None and r.vrid != s.vrid:
            return R_VRID
        if r.version != s.version or r.auth != s.auth or (r.version == 2 and r.advert_int != s.advert_int):
            return R_DISCARD
        if r.vips is not None and s.vips is not None and r.vips != s.vips and applies(R_ADDR_LIST, r.release):
            return R_ADDR_LIST
        return None

    def _steps_down(self, instance: str, m: str, s: str) -> Optional[bool]:
        """Whether master ``m`` steps down on ``s``'s advert (R_MASTERS_MEET, R_EQUAL_MASTERS);
        None when the priorities are equal and a primary IP is unknown (either may stay)."""
        pm, ps = self._key(instance, m), self._key(instance, s)
        if ps[0] != pm[0]:
            return ps[0] > pm[0]
        if pm[1] == -1 or ps[1] == -1:
            return None
        return ps[1] > pm[1]

    def _accepts(self, instance: str, b: str, s: str) -> bool:
        """Whether backup ``b`` resets its timer on master ``s``'s advert (R_BACKUP_ACCEPTS)."""
        spec = self.specs[instance][b]
        return not spec.preempts or self._key(instance, s)[0] >= self._key(instance, b)[0]

    def _step_downs(self, instance: str, masters: frozenset[str]) -> list[frozenset[str]]:
        """Masters left once every master has heard the others' adverts (one list entry per open tie)."""
        outs = [masters]
        for m in sorted(masters - {ROGUE}):     # a forged sender never steps down
            nxt = []
            for cur in outs:
                verdicts = [self._steps_down(instance, m, s) for s in masters if s != m and self.hears(m, s, instance)]
                if any(v is True for v in verdicts):
                    nxt.append(cur - {m})
                elif any(v is None for v in verdicts):
                    nxt += [cur, cur - {m}]
                else:
                    nxt.append(cur)
            outs = nxt
        # a tie left open must still leave one of the tied masters: drop outcomes that lost every master
        # of a group that hears each other only if another outcome keeps one of them
        keep = [o for o in outs if o or not masters]
        return list(dict.fromkeys(keep or outs))

    def _settle(self, instance: str, prev: frozenset[str]) -> tuple[tuple[frozenset[str], ...], tuple[str, ...]]:
        """Acceptable MASTER sets once the election settles, given the previous masters.

        Plays the protocol forward on the hearing relation (R_HEARING): masters that hear a better
        master step down (R_MASTERS_MEET, R_EQUAL_MASTERS); a backup that hears no advert it accepts
        (R_BACKUP_ACCEPTS: any with nopreempt, else priority >= its own) times out and becomes MASTER,
        the shortest master down interval first (R_MDI; equal ones race, R_EQUAL_BACKUP); repeated
        until nothing changes. Every order the rules leave open gives its own outcome.
        """
        cand = self.candidates(instance)
        spec = self.specs[instance]
        rules: list[str] = []
        if any(not self.hears(r, s, instance) for r in cand for s in cand if r != s):
            rules.append(R_HEARING)
            rules += [rule for rule in dict.fromkeys(self.discards(instance, r, s) for r in cand for s in cand
                                                     if r != s and self.hears(r, s)) if rule]
        start = frozenset(n for n in cand if n in prev)
        if not start:
            rules.append(R_HIGHEST)
        rogue = self.rogues.get(instance)
        if rogue:
            start = start | {ROGUE}
            rules.append(R_ROGUE)
        outcomes: list[frozenset[str]] = []
        todo = [(m, 0) for m in self._step_downs(instance, start)]
        seen: set[frozenset[str]] = set()
        while todo:
            masters, depth = todo.pop()
            if masters in seen:
                continue
            seen.add(masters)
            waiting = [b for b in cand if b not in masters
                       and not any(self.hears(b, s, instance) and self._accepts(instance, b, s) for s in masters)]
            if not waiting or depth > 4 * len(cand) + 4:
                outcomes.append(masters)
                continue
            def timer(b: str) -> float:
                heard_lower = any(self.hears(b, s, instance) for s in masters)
                t = spec[b].master_down_interval(self.effective_priority(b, instance)) + (
                    spec[b].effective_preempt_delay if heard_lower else 0.0)
                if self._start_race and not masters:      # a start-up race: timers run from each start
                    t += self.started_at.get(b, 0.0) - min(self.started_at.get(n, 0.0) for n in cand)
                return t
            first = min(timer(b) for b in waiting)
            tol = self.race if self._start_race and not masters else 0.0
            racers = [b for b in waiting if timer(b) - first <= tol + 1e-9]
            if len(racers) > 1:
                rules.append(R_EQUAL_BACKUP)
            for w in racers:
                if masters:
                    rules.append(R_PREEMPT if any(self.hears(w, s, instance) for s in masters) else R_BLOCKED)
                for nxt in self._step_downs(instance, masters | {w}):
                    todo.append((nxt, depth + 1))
        for o in outcomes:                          # why each backup stays BACKUP
            for b in cand:
                heard = [m for m in o if m != b and self.hears(b, m, instance)]
                pb = self._key(instance, b)[0]
                if any(self._key(instance, m)[0] == pb for m in heard):
                    rules.append(R_EQUAL_BACKUP)
                if not spec[b].preempts and heard and all(self._key(instance, m)[0] < pb for m in heard):
                    rules.append(R_NOPREEMPT)
        if any(len(o) > 1 for o in outcomes):
            rules.append(R_BLOCKED)
        if len(start) > 1:
            rules.append(R_MASTERS_MEET)
        outcomes = [o - {ROGUE} for o in outcomes]
        uniq = tuple(dict.fromkeys(sorted(outcomes, key=lambda o: sorted(o))))
        return uniq or (frozenset(),), tuple(dict.fromkeys(rules))
