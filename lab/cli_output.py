"""The machine-readable output of the CLI (``--format json``): one pydantic model per command, so the
shape is a schema (``model_json_schema()``) that scripts can rely on and tests validate against.

Every document carries ``schema``: ``kalab.<command>/<version>``; a change that breaks a reader bumps
the version.
"""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field


class PredictRow(BaseModel):
    event: str
    instance: str
    #: the allowed MASTER sets (several when the rules leave a tie or a race open)
    options: list[list[str]]
    earliest_s: float
    latest_s: float
    effective_priorities: dict[str, int]
    rules: list[str]


class Predict(BaseModel):
    schema_: Literal["kalab.predict/1"] = Field("kalab.predict/1", alias="schema")
    topology: str
    rows: list[PredictRow]
    #: rule name -> its text with its source
    rules: dict[str, str]


class StatusItem(BaseModel):
    node: str
    instance: str
    container: str
    state: str
    priority: int
    effective_priority: Optional[int]
    holds_vip: bool
    nginx_up: bool
    #: seconds after the lab started at which the current state began
    state_since_s: Optional[float]


class Status(BaseModel):
    schema_: Literal["kalab.status/1"] = Field("kalab.status/1", alias="schema")
    lab: str
    topology: str
    rows: list[StatusItem]


class LabItem(BaseModel):
    lab: str
    topology: str
    owner: str
    #: alive, gone (provably: reaped at the next start unless kept) or unknown (another PID namespace,
    #: boot or machine; only `kalab down --lab` / `prune` remove it); see lab/runtime/owner.py
    owner_state: Literal["alive", "gone", "unknown"] = "unknown"
    user: str = ""
    project: str = ""
    kept: bool


class Labs(BaseModel):
    schema_: Literal["kalab.list/1"] = Field("kalab.list/1", alias="schema")
    labs: list[LabItem]


class FaultKind(BaseModel):
    kind: str
    summary: str


class Faults(BaseModel):
    schema_: Literal["kalab.faults/1"] = Field("kalab.faults/1", alias="schema")
    faults: list[FaultKind]


def dump(doc: BaseModel) -> str:
    """The JSON text of ``doc`` (its ``schema_`` field written as ``schema``)."""
    return doc.model_dump_json(indent=2, by_alias=True)


class AppliedFault(BaseModel):
    name: str
    kind: str
    node: str
    params: dict[str, str]


class Applied(BaseModel):
    """``kalab faults --applied``: faults applied to a lab and not healed."""
    schema_: Literal["kalab.applied/1"] = Field("kalab.applied/1", alias="schema")
    lab: str
    faults: list[AppliedFault]


class ExecItem(BaseModel):
    node: str
    exit_code: int
    output: str


class Exec(BaseModel):
    """``kalab exec``: one command on several nodes."""
    schema_: Literal["kalab.exec/1"] = Field("kalab.exec/1", alias="schema")
    lab: str
    command: list[str]
    rows: list[ExecItem]


class WatchEvent(BaseModel):
    """``kalab watch --format json``: one JSON line per history event."""
    schema_: Literal["kalab.event/1"] = Field("kalab.event/1", alias="schema")
    lab: str
    #: seconds after the lab started (host monotonic clock)
    t_s: float
    kind: str
    data: dict
    text: str


class Report(BaseModel):
    """``kalab report --format json``: where the report went."""
    schema_: Literal["kalab.report/1"] = Field("kalab.report/1", alias="schema")
    lab: str
    files: dict[str, str]
