"""Every implementation of one of our interfaces has what the interface promises, with a
signature a caller written against the interface can use (as warehouse checks its services with
`verifyClass`). A caller holds the Protocol; the composition root hands it one of these."""

from __future__ import annotations

import inspect
from typing import Any, Protocol

import pytest

from tessera.auth import AuthRecorder, Notifier, Outbox
from tessera.consent import AccessHistory, ConsentObserver, SubjectData
from tessera.payments import CardsOnFile, HttpProcessor, PaymentProcessor, PaymentRecorder
from tessera.policies import CedarPolicyEngine, PolicyEngine
from tessera.trust import AuditLog
from tessera.trust.gateway import (
    AuditAuthRecorder,
    AuditConsentObserver,
    AuditPaymentRecorder,
    ConsentObservers,
    PaymentRecorders,
)
from tessera.trust.gateway._requests import _ThroughTheGateway
from tessera.trust.webhooks import WebhookPaymentRecorder
from tessera.vault import KeyProvider, LocalKeyring, Pkcs11KeyProvider

IMPLEMENTATIONS: list[tuple[type[Any], type[Any]]] = [
    (KeyProvider, LocalKeyring),
    (KeyProvider, Pkcs11KeyProvider),
    (Notifier, Outbox),
    (PaymentProcessor, HttpProcessor),
    (PolicyEngine, CedarPolicyEngine),
    (ConsentObserver, AuditConsentObserver),
    (ConsentObserver, ConsentObservers),
    (ConsentObserver, CardsOnFile),
    (AccessHistory, AuditLog),
    (SubjectData, _ThroughTheGateway),
    (AuthRecorder, AuditAuthRecorder),
    (PaymentRecorder, AuditPaymentRecorder),
    (PaymentRecorder, WebhookPaymentRecorder),
    (PaymentRecorder, PaymentRecorders),
]


def _members(protocol: type[Any]) -> tuple[dict[str, Any], set[str]]:
    methods = {
        name: value
        for name, value in vars(protocol).items()
        if callable(value) and not name.startswith("_")
    }
    attributes = {n for n in getattr(protocol, "__annotations__", {}) if not n.startswith("_")}
    return methods, attributes


def _accepts(interface: inspect.Signature, implementation: inspect.Signature) -> list[str]:
    """What a call written against `interface` would get wrong on `implementation`."""
    problems = []
    offered = implementation.parameters
    for name, wanted in interface.parameters.items():
        if name == "self":
            continue
        got = offered.get(name)
        if got is None:
            if not any(p.kind is p.VAR_KEYWORD for p in offered.values()):
                problems.append(f"no parameter {name!r}")
            continue
        if wanted.kind is wanted.KEYWORD_ONLY and got.kind is got.POSITIONAL_ONLY:
            problems.append(f"{name!r} cannot be passed by keyword")
        if wanted.kind in (wanted.POSITIONAL_ONLY, wanted.POSITIONAL_OR_KEYWORD):
            if got.kind is got.KEYWORD_ONLY:
                problems.append(f"{name!r} cannot be passed by position")
            elif list(offered).index(name) != list(interface.parameters).index(name):
                problems.append(f"{name!r} is not in the same position")
        if wanted.default is not wanted.empty and got.default is got.empty:
            problems.append(f"{name!r} has no default")
    for name, extra in offered.items():
        variadic = extra.kind in (extra.VAR_POSITIONAL, extra.VAR_KEYWORD)
        if name not in interface.parameters and not variadic and extra.default is extra.empty:
            problems.append(f"extra required parameter {name!r}")
    return problems


def conformance_problems(protocol: type[Any], implementation: type[Any]) -> list[str]:
    methods, attributes = _members(protocol)
    problems = []
    for name, method in methods.items():
        found = getattr(implementation, name, None)
        if not callable(found):
            problems.append(f"{name}: missing")
            continue
        for problem in _accepts(inspect.signature(method), inspect.signature(found)):
            problems.append(f"{name}: {problem}")
    for name in attributes:
        in_class = hasattr(implementation, name)
        in_init = name in inspect.getsource(implementation.__init__)
        if not (in_class or in_init):
            problems.append(f"{name}: attribute missing")
    return problems


@pytest.mark.parametrize(
    ("protocol", "implementation"),
    IMPLEMENTATIONS,
    ids=[f"{i.__name__}-is-a-{p.__name__}" for p, i in IMPLEMENTATIONS],
)
def test_implementation_conforms(protocol: type[Any], implementation: type[Any]) -> None:
    assert conformance_problems(protocol, implementation) == []


def test_every_protocol_of_the_packages_has_an_implementation_checked() -> None:
    import tessera.auth
    import tessera.consent
    import tessera.payments
    import tessera.policies
    import tessera.vault

    declared = {
        getattr(package, name)
        for package in (
            tessera.vault,
            tessera.consent,
            tessera.auth,
            tessera.payments,
            tessera.policies,
        )
        for name in package.__all__
        if isinstance(getattr(package, name), type)
        and getattr(getattr(package, name), "_is_protocol", False)
    }
    assert declared == {protocol for protocol, _ in IMPLEMENTATIONS}


class _Signing(Protocol):
    def sign(self, data: bytes, *, key: str) -> bytes: ...


class _Good:
    def sign(self, data: bytes, *, key: str, extra: int = 0) -> bytes:
        return data


class _Renamed:
    def sign(self, payload: bytes, *, key: str) -> bytes:
        return payload


class _Stricter:
    def sign(self, data: bytes, *, key: str, audience: str) -> bytes:
        return data


class _Missing:
    pass


def test_the_check_finds_what_a_caller_would_trip_on() -> None:
    assert conformance_problems(_Signing, _Good) == []
    assert "sign: no parameter 'data'" in conformance_problems(_Signing, _Renamed)
    assert "sign: extra required parameter 'audience'" in conformance_problems(_Signing, _Stricter)
    assert conformance_problems(_Signing, _Missing) == ["sign: missing"]
