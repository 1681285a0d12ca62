"""The election: keepalived's documented rules as a model (pure: no Docker).

* :mod:`~lab.election.rules` - every rule with its source (man page, RFC, observed release);
* :mod:`~lab.election.specs` - each node's view of each VRRP instance (priority, timers, trackers);
* :mod:`~lab.election.inputs` - the events the model replays, and their declared dict form;
* :mod:`~lab.election.model` - the model: state, allowed outcomes and time windows per input;
* :mod:`~lab.election.predict` - ``kalab predict``: a topology and a list of inputs.
"""
from .inputs import (AdvertsBlocked, Hearing, InterfaceChange, ModelEvent, NodeDown, NodePaused, NodeResumed, NodeUp, RogueAdverts,
                     Reload, ScriptResult, from_dict, to_dict)
from .model import ElectionModel, Expectation, predict
from .rules import RULES
from .specs import InstanceSpec, TrackSpec, effective_priority, specs_from_topology

__all__ = ["AdvertsBlocked", "Hearing", "InterfaceChange", "ModelEvent", "NodeDown", "NodePaused", "NodeResumed",
           "NodeUp", "Reload", "RogueAdverts", "ScriptResult", "from_dict", "to_dict", "ElectionModel", "Expectation", "predict",
           "RULES", "InstanceSpec", "TrackSpec", "effective_priority", "specs_from_topology"]
