"""What the rules require of one VRRP instance after one input (pure): the allowed MASTER sets,
each node's state and effective priority, the time window and the rules that decided it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

@dataclass(frozen=True)
class Expectation:
    """What the rules require of one instance after one event.

    Attributes:
        options: acceptable MASTER sets once settled (usually one; several when a tie is open).
        states: node -> expected state (MASTER/BACKUP/FAULT/DOWN/PAUSED) for the first option.
        effective_priorities: node -> effective priority (live, non-faulted nodes).
        earliest, latest: seconds after the event: the change may not be seen before ``earliest``
            and must be complete by ``latest`` (when nothing changes: latest is how long a change
            would have taken, i.e. how long "it stays" must be watched).
        changed: whether the expected MASTER set differs from before the event.
        vip_holders: nodes expected to hold the VIP (masters plus paused former masters).
        rules: the R_* texts that decided this.
    """

    instance: str
    cause: str
    options: tuple[frozenset[str], ...]
    states: dict[str, str]
    effective_priorities: dict[str, int]
    earliest: float
    latest: float
    changed: bool
    vip_holders: frozenset[str]
    rules: tuple[str, ...] = ()

    @property
    def masters(self) -> frozenset[str]:
        """The expected MASTER set (raises ValueError while a tie is open)."""
        if len(self.options) != 1:
            raise ValueError(f"{self.instance}: master is one of {self.describe_options()} (tie)")
        return self.options[0]

    @property
    def master(self) -> Optional[str]:
        """The single expected MASTER, or None (no master, several, or an open tie)."""
        if len(self.options) == 1 and len(self.options[0]) == 1:
            return next(iter(self.options[0]))
        return None

    def allows(self, masters: Iterable[str]) -> bool:
        return frozenset(masters) in self.options

    def describe_options(self) -> str:
        return " or ".join("{" + ", ".join(sorted(o)) + "}" for o in self.options)

    def describe(self) -> str:
        prios = ", ".join(f"{n}={p}" for n, p in sorted(self.effective_priorities.items()))
        return (f"{self.instance}: MASTER {self.describe_options()} within {self.earliest:.3f}..{self.latest:.3f} s "
                f"after {self.cause} (effective priorities {prios})")
