"""Policy test tables: allow/deny cases from a TOML file, run against a policy folder.

So that a DPO or a security engineer can check a change before deploying it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._engine import CedarPolicyEngine
from ._errors import PolicyLoadError
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

__all__ = ["CaseResult", "PolicyCase", "load_cases", "run_cases"]

TENANT = "case-tenant"


@dataclass(frozen=True, slots=True)
class PolicyCase:
    name: str
    principal: Principal
    action: Action
    resource: Resource
    context: AccessContext
    expect: PolicyOutcome
    expect_assurance: Assurance | None = None


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: PolicyCase
    decision: PolicyDecision

    @property
    def passed(self) -> bool:
        if self.decision.outcome is not self.case.expect:
            return False
        return (
            self.case.expect_assurance is None
            or self.decision.required_assurance is self.case.expect_assurance
        )


def _case(raw: dict[str, Any], index: int) -> PolicyCase:
    where = f"case {index + 1}"
    try:
        name = str(raw.get("name") or where)
        p = raw.get("principal", {})
        principal = Principal(
            id=str(p.get("id", f"caller-{index}")),
            tenant=str(p.get("tenant", TENANT)),
            kind=CallerKind(p["kind"]),
            roles=frozenset(p.get("roles", [])),
            subject=str(p.get("subject", "")),
        )
        r = raw.get("resource", {})
        resource = Resource(
            tenant=str(r.get("tenant", TENANT)),
            subject=str(r.get("subject", "subject-1")),
            category=str(r["category"]),
        )
        c = raw.get("context", {})
        context = AccessContext(
            purpose=str(c["purpose"]),
            channel=str(c.get("channel", "chat")),
            assurance=Assurance.parse(c.get("assurance", "low")),
            legal_basis=str(c.get("legal_basis", "")),
            consent=str(c.get("consent", "none")),
            lawful=bool(c.get("lawful", True)),
            hour=int(c.get("hour", 12)),
        )
        expect, _, level = str(raw["expect"]).partition(":")
        return PolicyCase(
            name,
            principal,
            Action(raw["action"]),
            resource,
            context,
            PolicyOutcome(expect),
            Assurance.parse(level) if level else None,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise PolicyLoadError(f"{where}: {type(exc).__name__}: {exc}") from None


def load_cases(path: Path) -> list[PolicyCase]:
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyLoadError(f"cannot read {Path(path).name}: {exc}") from None
    raw_cases = data.get("case")
    if not isinstance(raw_cases, list) or not raw_cases:
        raise PolicyLoadError(f"{Path(path).name}: no [[case]] tables")
    return [_case(raw, i) for i, raw in enumerate(raw_cases)]


def run_cases(engine: CedarPolicyEngine, cases: list[PolicyCase]) -> list[CaseResult]:
    return [
        CaseResult(
            case, engine.decide(case.principal, case.action, [case.resource], case.context)[0]
        )
        for case in cases
    ]
