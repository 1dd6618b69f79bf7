"""Cedar policies (cedarpy): parsed and validated once, evaluated per request.

A policy set is a folder of `.cedar` files validated against `schema.cedarschema`. Every policy
must carry a unique `@id`, which each decision records. A folder `tenants/<tenant>/` beside the
default files replaces the default set for that tenant. Reloading validates everything first:
a file with a syntax or schema error is refused and the running sets stay in force.

Evaluation is a pure function of the policy set, principal, action, resource and context, so
decisions are remembered (a bounded LRU, emptied on reload): an agent reads the same customer
several times in a conversation, and Cedar's call was a fifth of an access's time.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import cedarpy

from ._errors import PolicyLoadError
from ._model import (
    AccessContext,
    Action,
    Assurance,
    PolicyDecision,
    PolicyOutcome,
    Principal,
    Resource,
)

__all__ = [
    "DEFAULT_POLICY_DIR",
    "CedarPolicyEngine",
    "CompiledPolicies",
    "PolicyEngine",
    "compile_policies",
]

HERE = Path(__file__).parent
DEFAULT_POLICY_DIR = HERE / "default"
SCHEMA_TEXT = (HERE / "schema.cedarschema").read_text("utf-8")
DEFAULT_DENY = "default-deny"


class PolicyEngine(Protocol):
    """Decides one access; implementations record which policies decided it."""

    def decide(
        self,
        principal: Principal,
        action: Action,
        resources: list[Resource],
        context: AccessContext,
    ) -> list[PolicyDecision]: ...


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: a reload makes new ones
class CompiledPolicies:
    source: str
    policy_set: cedarpy.PolicySet
    ids: dict[str, str]  # Cedar's positional id (policy0…) -> our @id
    digest: str = ""  # SHA-256 of the set's text: which policies decided, for the audit trail

    @property
    def policy_ids(self) -> list[str]:
        return sorted(self.ids.values())


def compile_policies(
    files: dict[str, str], *, schema: cedarpy.Schema, source: str
) -> CompiledPolicies:
    """Parse and validate each file, then the whole set; errors name the file."""
    if not files:
        raise PolicyLoadError(f"{source}: no .cedar policy files")
    seen: dict[str, str] = {}
    for name, text in files.items():
        try:
            parsed = json.loads(cedarpy.policies_to_json_str(text))
        except ValueError as exc:
            raise PolicyLoadError(f"{name}: syntax error: {exc}") from None
        if parsed.get("templates"):
            raise PolicyLoadError(f"{name}: policy templates are not supported")
        result = cedarpy.validate_policies(text, schema)
        if not result.validation_passed:
            errors = "; ".join(str(e) for e in result.errors[:3])
            raise PolicyLoadError(f"{name}: does not match the schema: {errors}")
        for policy in parsed["staticPolicies"].values():
            policy_id = policy.get("annotations", {}).get("id")
            if not policy_id:
                raise PolicyLoadError(f'{name}: every policy needs an @id("…") annotation')
            if policy_id in seen:
                raise PolicyLoadError(
                    f"{name}: @id {policy_id!r} is already used in {seen[policy_id]}"
                )
            seen[policy_id] = name
    combined = "\n".join(files[name] for name in sorted(files))
    parsed = json.loads(cedarpy.policies_to_json_str(combined))
    ids = {pid: p["annotations"]["id"] for pid, p in parsed["staticPolicies"].items()}
    digest = hashlib.sha256(combined.encode("utf-8")).hexdigest()
    return CompiledPolicies(source, cedarpy.PolicySet.from_str(combined), ids, digest)


def _read_folder(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder.parent)): path.read_text("utf-8")
        for path in sorted(folder.glob("*.cedar"))
    }


_Key = tuple[CompiledPolicies, Principal, Action, Resource, AccessContext]


class CedarPolicyEngine:
    def __init__(self, policy_dir: Path = DEFAULT_POLICY_DIR, *, remember: int = 8192) -> None:
        """`remember`: how many decisions are kept (0: none)."""
        self.policy_dir = Path(policy_dir)
        self.schema = cedarpy.Schema.from_str(SCHEMA_TEXT)
        self.remember = remember
        self._lock = threading.Lock()
        self._default: CompiledPolicies
        self._tenants: dict[str, CompiledPolicies] = {}
        self._decisions: OrderedDict[_Key, PolicyDecision] = OrderedDict()
        self._callers: OrderedDict[Principal, cedarpy.Entities] = OrderedDict()
        self.reload()

    def reload(self) -> None:
        """Load every set anew; on any error, raise and keep the sets in force."""
        if not self.policy_dir.is_dir():
            raise PolicyLoadError(f"no policy folder at {self.policy_dir}")
        default = compile_policies(
            _read_folder(self.policy_dir), schema=self.schema, source=str(self.policy_dir)
        )
        tenants = {}
        tenants_dir = self.policy_dir / "tenants"
        if tenants_dir.is_dir():
            for folder in sorted(p for p in tenants_dir.iterdir() if p.is_dir()):
                tenants[folder.name] = compile_policies(
                    _read_folder(folder), schema=self.schema, source=str(folder)
                )
        with self._lock:
            self._default, self._tenants = default, tenants
            self._decisions.clear()

    def sweeper(self) -> CedarPolicyEngine:
        """The policy sets in force now, deciding without remembering: a sweep over every
        caller, action, channel and category (the record of processing) must not push the
        gateway's remembered decisions out."""
        view = object.__new__(CedarPolicyEngine)
        view.policy_dir = self.policy_dir
        view.schema = self.schema
        view.remember = 0
        view._lock = threading.Lock()
        with self._lock:
            view._default, view._tenants = self._default, dict(self._tenants)
        view._decisions = OrderedDict()
        view._callers = OrderedDict()
        return view

    def policies_for(self, tenant: str) -> CompiledPolicies:
        with self._lock:
            return self._tenants.get(tenant, self._default)

    def decide(
        self,
        principal: Principal,
        action: Action,
        resources: list[Resource],
        context: AccessContext,
    ) -> list[PolicyDecision]:
        """One decision per resource. A denial that a higher assurance would turn into an
        allow is a step-up, naming the lowest level that suffices."""
        compiled = self.policies_for(principal.tenant)
        keys: list[_Key] = [(compiled, principal, action, r, context) for r in resources]
        with self._lock:
            known = [self._decisions.get(k) for k in keys]
            for key, decision in zip(keys, known, strict=True):
                if decision is not None:
                    self._decisions.move_to_end(key)
        missing = [i for i, d in enumerate(known) if d is None]
        if not missing:
            return [d for d in known if d is not None]
        fresh = self._evaluate(
            compiled, principal, action, [resources[i] for i in missing], context
        )
        with self._lock:
            for i, decision in zip(missing, fresh, strict=True):
                known[i] = decision
                if self.remember:
                    self._decisions[keys[i]] = decision
            while len(self._decisions) > self.remember:
                self._decisions.popitem(last=False)
        return [d for d in known if d is not None]  # every one is decided now

    def _evaluate(
        self,
        compiled: CompiledPolicies,
        principal: Principal,
        action: Action,
        resources: list[Resource],
        context: AccessContext,
    ) -> list[PolicyDecision]:
        entities = self._entities(principal, resources)
        first = cedarpy.is_authorized_batch(
            [_request(principal, action, r, context) for r in resources],
            compiled.policy_set,
            entities,
            self.schema,
        )
        decisions = [self._decision(compiled, result) for result in first]
        higher = [a for a in Assurance if a > context.assurance]
        for i, decision in enumerate(decisions):
            if decision.allowed or not higher:
                continue
            raised = cedarpy.is_authorized_batch(
                [
                    _request(principal, action, resources[i], replace(context, assurance=a))
                    for a in higher
                ],
                compiled.policy_set,
                entities,
                self.schema,
            )
            for level, result in zip(higher, raised, strict=True):
                if result.allowed:
                    decisions[i] = PolicyDecision(
                        PolicyOutcome.STEP_UP, self._ids(compiled, result), level
                    )
                    break
        return decisions

    def _entities(self, principal: Principal, resources: list[Resource]) -> cedarpy.Entities:
        """The caller and its roles are parsed (and checked against the schema) once per
        caller; each evaluation adds only its resources."""
        with self._lock:
            base = self._callers.get(principal)
        if base is None:
            base = cedarpy.Entities.from_json_str(
                json.dumps(_caller_entities(principal)), schema=self.schema
            )
            with self._lock:
                self._callers[principal] = base
                while len(self._callers) > 1024:
                    self._callers.popitem(last=False)
        return base.with_added_json_str(
            json.dumps(_resource_entities(resources)), schema=self.schema
        )

    def _decision(self, compiled: CompiledPolicies, result: Any) -> PolicyDecision:
        outcome = PolicyOutcome.ALLOW if result.allowed else PolicyOutcome.DENY
        return PolicyDecision(outcome, self._ids(compiled, result) or (DEFAULT_DENY,))

    @staticmethod
    def _ids(compiled: CompiledPolicies, result: Any) -> tuple[str, ...]:
        return tuple(sorted(compiled.ids.get(r, r) for r in result.diagnostics.reasons))


def _caller_entities(principal: Principal) -> list[dict[str, Any]]:
    roles = sorted({principal.kind.value, *principal.roles})
    return [
        {
            "uid": {"type": "Tessera::Caller", "id": principal.id},
            "attrs": {
                "tenant": principal.tenant,
                "kind": principal.kind.value,
                "subject": principal.subject,
            },
            "parents": [{"type": "Tessera::Role", "id": r} for r in roles],
        },
        *({"uid": {"type": "Tessera::Role", "id": r}, "attrs": {}, "parents": []} for r in roles),
    ]


def _resource_entities(resources: list[Resource]) -> list[dict[str, Any]]:
    return [
        {
            "uid": {"type": "Tessera::Data", "id": _data_id(r)},
            "attrs": {"tenant": r.tenant, "subject": r.subject, "category": r.category},
            "parents": [],
        }
        for r in set(resources)
    ]


def _data_id(r: Resource) -> str:
    return f"{r.tenant}/{r.subject}/{r.category}"


def _request(
    principal: Principal, action: Action, resource: Resource, context: AccessContext
) -> dict[str, Any]:
    return {
        "principal": {"type": "Tessera::Caller", "id": principal.id},
        "action": {"type": "Tessera::Action", "id": action.value},
        "resource": {"type": "Tessera::Data", "id": _data_id(resource)},
        "context": {
            "purpose": context.purpose,
            "channel": context.channel,
            "legal_basis": context.legal_basis,
            "consent": context.consent,
            "lawful": context.lawful,
            "assurance": int(context.assurance),
            "hour": context.hour,
        },
    }
