from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from tessera.storage import utcnow
from tessera.trust import (
    AuthenticationRequired,
    IssuedKey,
    PermissionDenied,
    Scope,
    ServiceIdentity,
    UnknownTenant,
)
from tessera.vault import InvalidValue
from tests.conftest import Stores


@pytest.fixture
def identity(shared_stores: Stores) -> ServiceIdentity:
    return ServiceIdentity(shared_stores.data)


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now


def test_a_key_is_shown_once_and_stored_only_as_a_hash(
    identity: ServiceIdentity, shared_stores: Stores, tenant: str
) -> None:
    identity.create_tenant(tenant)
    issued = identity.issue_key(tenant, scopes=[Scope.TOKENIZE], name="crm")
    with shared_stores.data.begin() as conn:
        row = (
            conn.execute(text("SELECT * FROM api_keys WHERE id = :id"), {"id": issued.key_id})
            .mappings()
            .one()
        )
    assert issued.secret not in str(dict(row))
    assert issued.secret.split("_")[2] not in str(dict(row))
    caller = identity.authenticate(issued.secret)
    assert (caller.tenant, caller.scopes) == (tenant, frozenset({Scope.TOKENIZE}))


def test_every_authentication_failure_reads_the_same(
    identity: ServiceIdentity, tenant: str
) -> None:
    identity.create_tenant(tenant)
    issued = identity.issue_key(tenant, scopes=[Scope.TOKENIZE])
    wrong_secret = issued.secret[:-1] + ("a" if issued.secret[-1] != "a" else "b")
    unknown_id = "tsk_" + "a" * 16 + issued.secret[-33:]
    messages = set()
    for presented in (None, "", "garbage", wrong_secret, unknown_id):
        with pytest.raises(AuthenticationRequired) as err:
            identity.authenticate(presented)
        messages.add(str(err.value))
    identity.revoke_key(issued.key_id)
    with pytest.raises(AuthenticationRequired) as err:
        identity.authenticate(issued.secret)
    messages.add(str(err.value))
    assert len(messages) == 1


def test_an_expired_key_is_refused_and_says_so(shared_stores: Stores, tenant: str) -> None:
    clock = Clock()
    identity = ServiceIdentity(shared_stores.data, clock=clock)
    identity.create_tenant(tenant)
    issued = identity.issue_key(tenant, scopes=[Scope.SEARCH], valid_for=dt.timedelta(days=1))
    assert issued.expires_at == clock.now + dt.timedelta(days=1)
    identity.authenticate(issued.secret)
    clock.now += dt.timedelta(days=1)
    with pytest.raises(AuthenticationRequired, match="expired"):
        identity.authenticate(issued.secret)


def test_scope_check_names_the_missing_scope(identity: ServiceIdentity, tenant: str) -> None:
    identity.create_tenant(tenant)
    caller = identity.authenticate(identity.issue_key(tenant, scopes=["tokens:write"]).secret)
    caller.require(Scope.TOKENIZE)
    with pytest.raises(PermissionDenied, match="subjects:erase"):
        caller.require(Scope.ERASE)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"scopes": []}, "at least one scope"),
        ({"scopes": ["root"]}, "unknown scope"),
        ({"scopes": [Scope.SEARCH], "valid_for": dt.timedelta(0)}, "positive"),
    ],
)
def test_bad_key_requests_are_refused(
    identity: ServiceIdentity, tenant: str, kwargs, error: str
) -> None:
    identity.create_tenant(tenant)
    with pytest.raises(InvalidValue, match=error):
        identity.issue_key(tenant, **kwargs)
    assert identity.list_keys(tenant) == []


def test_keys_for_an_unknown_tenant_are_refused(identity: ServiceIdentity) -> None:
    with pytest.raises(UnknownTenant):
        identity.issue_key("nobody-here", scopes=[Scope.SEARCH])


def test_revoking_another_tenants_key_is_refused(
    identity: ServiceIdentity, tenant: str, other_tenant: str
) -> None:
    identity.create_tenant(tenant)
    identity.create_tenant(other_tenant)
    issued = identity.issue_key(tenant, scopes=[Scope.SEARCH])
    with pytest.raises(InvalidValue):
        identity.revoke_key(issued.key_id, tenant_id=other_tenant)
    identity.authenticate(issued.secret)


class Ticker:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_verified_key_is_answered_without_the_store_for_a_moment(
    shared_stores: Stores, tenant: str
) -> None:
    ticker = Ticker()
    identity = ServiceIdentity(shared_stores.data, verified_for=2.0, ticker=ticker)
    identity.create_tenant(tenant)
    issued = identity.issue_key(tenant, scopes=[Scope.SEARCH], kind="agent", roles=["fr"])
    assert identity.verified(issued.secret) is None  # never looked up: the store decides
    caller = identity.authenticate(issued.secret)
    assert identity.verified(issued.secret) == caller
    assert (caller.kind, caller.roles) == ("agent", frozenset({"fr"}))
    # Another process (the CLI, another worker) revokes it: this one learns of it at expiry.
    ServiceIdentity(shared_stores.data).revoke_key(issued.key_id)
    assert identity.authenticate(issued.secret) == caller
    ticker.now += 2.0
    assert identity.verified(issued.secret) is None
    with pytest.raises(AuthenticationRequired):
        identity.authenticate(issued.secret)


def verified_key(
    stores: Stores, tenant: str, verified_for: float
) -> tuple[ServiceIdentity, IssuedKey]:
    """An identity that has just verified a new key of `tenant`."""
    identity = ServiceIdentity(stores.data, verified_for=verified_for)
    identity.create_tenant(tenant)
    issued = identity.issue_key(tenant, scopes=[Scope.SEARCH])
    identity.authenticate(issued.secret)
    return identity, issued


def test_revoking_through_this_process_takes_effect_at_once(
    shared_stores: Stores, tenant: str
) -> None:
    identity, issued = verified_key(shared_stores, tenant, 60.0)
    identity.revoke_key(issued.key_id)
    assert identity.verified(issued.secret) is None
    with pytest.raises(AuthenticationRequired):
        identity.authenticate(issued.secret)


def test_a_wrong_secret_for_a_verified_key_id_is_still_refused(
    shared_stores: Stores, tenant: str
) -> None:
    identity, issued = verified_key(shared_stores, tenant, 60.0)
    wrong = issued.secret[:-1] + ("a" if issued.secret[-1] != "a" else "b")
    assert identity.verified(wrong) is None
    with pytest.raises(AuthenticationRequired):
        identity.authenticate(wrong)
    with pytest.raises(AuthenticationRequired):
        identity.verified("garbage")


def test_no_cache_when_its_lifetime_is_zero(shared_stores: Stores, tenant: str) -> None:
    identity, issued = verified_key(shared_stores, tenant, 0)
    assert identity.verified(issued.secret) is None
    ServiceIdentity(shared_stores.data).revoke_key(issued.key_id)
    with pytest.raises(AuthenticationRequired):
        identity.authenticate(issued.secret)
