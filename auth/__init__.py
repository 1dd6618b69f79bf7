"""Invisible strong authentication: risk scoring over device, network and habit signals.

This session lands the scoring core of issue 7 as pure functions (`assess`, `Profile`,
`Population`, `Signals`); step-up factors, HTTP and the simulator come next.
"""

from __future__ import annotations

from ._risk import (
    DEFAULT_THRESHOLDS,
    FEATURES,
    Population,
    Profile,
    RiskAction,
    RiskAssessment,
    RiskDecision,
    Signals,
    Thresholds,
    assess,
    explain,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FEATURES",
    "Population",
    "Profile",
    "RiskAction",
    "RiskAssessment",
    "RiskDecision",
    "Signals",
    "Thresholds",
    "assess",
    "explain",
]
