"""Detections: rules that flag the events an attacker leaves behind (docs/detections.md).

- rules.py: what a rule is, and the built-in pack (rules/*.yaml)
- engine.py: rules run over a store at index speed, incrementally while tailing
- aggregate.py: bursts, distinct-value bursts and first-seen values, vectorised
- checks.py: comparisons between values of one event
- sigma.py: Sigma rules (pySigma) converted into rules
- attack.py: the ATT&CK tactics and techniques rules map to
"""

from .engine import Detections, Hit, by_severity, detections_of
from .rules import SEVERITIES, Rule, RuleError, load_pack

__all__ = [
    "SEVERITIES",
    "Detections",
    "Hit",
    "Rule",
    "RuleError",
    "by_severity",
    "detections_of",
    "load_pack",
]
