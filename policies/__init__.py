"""Purpose-based access control as code (Cedar), deny by default.

Public face: `CedarPolicyEngine` (behind the `PolicyEngine` protocol), the request vocabulary
(`Principal`, `Action`, `Resource`, `AccessContext`, `Assurance`, `CallerKind`), decisions that
name the policies behind them, and policy test tables.
"""

from __future__ import annotations

from ._cases import CaseResult, PolicyCase, load_cases, run_cases
from ._engine import (
    DEFAULT_POLICY_DIR,
    CedarPolicyEngine,
    CompiledPolicies,
    PolicyEngine,
    compile_policies,
)
from ._errors import PolicyError, PolicyLoadError
from ._model import (
    AccessContext,
    Action,
    Assurance,
    CallerKind,
    PolicyDecision,
    PolicyOutcome,
    Principal,
    Resource,
)

__all__ = [
    "DEFAULT_POLICY_DIR",
    "AccessContext",
    "Action",
    "Assurance",
    "CallerKind",
    "CaseResult",
    "CedarPolicyEngine",
    "CompiledPolicies",
    "PolicyCase",
    "PolicyDecision",
    "PolicyEngine",
    "PolicyError",
    "PolicyLoadError",
    "PolicyOutcome",
    "Principal",
    "Resource",
    "compile_policies",
    "load_cases",
    "run_cases",
]
