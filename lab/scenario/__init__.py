"""Scenarios as files (``*.scenario.yaml``): read them (:mod:`.schema`, :mod:`.durations`) and run them on a
lab, judged (:mod:`.run`). pytest collects them (lab.pytest_scenarios); ``kalab run`` runs them."""
from .durations import Duration, parse_duration
from .schema import SUFFIX, Expect, Scenario, Step, load, parse

__all__ = ["Duration", "parse_duration", "SUFFIX", "Expect", "Scenario", "Step", "load", "parse"]
