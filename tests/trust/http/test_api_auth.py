"""`/v1/auth` end to end through HTTP: assess, every step-up path, enrolment, sessions that the
gateway trusts, and clear problems for bad, replayed, brute-forced and cross-tenant input."""

from __future__ import annotations

import base64
import json

import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from tessera.auth import InvalidThresholds
from tessera.auth.softkey import SoftPasskey
from tessera.trust import Scope, Services, Settings, create_app
from tests.trust.conftest import settings_for
from tests.trust.http.test_api import problem

HOME = {
    "channel": "app",
    "ip": "86.200.12.34",
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Mobile/15E148",
    "device_id": "install-1",
}
SCOPES = [Scope.AUTH, Scope.AUTH_MANAGE, Scope.TOKENIZE, Scope.ACCESS, Scope.AUDIT]


def _code(services: Services) -> str:
    return services.authenticator.notifier.last().message.split(": ")[1][:6]


def _customer(client: TestClient, headers, subject: str) -> str:
    """A customer with a vaulted mobile number bound for one-time codes; returns its token."""
    r = client.post(
        "/v1/tokens",
        json={"value": "+33 6 12 34 56 78", "category": "phone", "subject": subject},
        headers=headers,
    )
    token = r.json()["token"]
    r = client.post(
        "/v1/auth/destinations",
        json={"subject": subject, "channel": "sms", "token": token},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return token


def _sign_in(client: TestClient, services: Services, headers, subject: str) -> dict:
    """First sign-in (no history): stepped up with a code sent by SMS; returns the session."""
    r = client.post(
        "/v1/auth/assess", json={"subject": subject, "observation": HOME}, headers=headers
    )
    assert r.status_code == 200, r.text
    assessed = r.json()
    assert assessed["decision"] == "step_up"
    assert "no sign-in history yet" in assessed["explanation"]
    assert assessed["step_up_factors"] == ["otp"] and assessed["session"] is None
    r = client.post(
        "/v1/auth/step-up/otp/begin", json={"decision_id": assessed["decision_id"]}, headers=headers
    )
    assert r.status_code == 200, r.text
    challenge = r.json()
    assert challenge["sent_to"].endswith("78") and "12 34" not in challenge["sent_to"]
    r = client.post(
        "/v1/auth/step-up/otp/complete",
        json={"challenge_id": challenge["challenge_id"], "code": _code(services)},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"]["assurance"] == "substantial"
    return done["session"]


def test_every_step_up_path_end_to_end(
    client: TestClient, services: Services, issue, tenant: str
) -> None:
    headers = issue(tenant, SCOPES)
    _customer(client, headers, "c-auth-1")
    session = _sign_in(client, services, headers, "c-auth-1")
    sid = session["session_id"]

    # TOTP: enrol (QR code), confirm with a first code, then step a new sign-in up with it.
    r = client.post("/v1/auth/factors/totp", json={"session_id": sid}, headers=headers)
    assert r.status_code == 201, r.text
    enrolment = r.json()
    assert enrolment["qr_svg"].startswith("<svg")
    totp = pyotp.TOTP(enrolment["secret"])
    r = client.post(
        "/v1/auth/factors/totp/confirm",
        json={"session_id": sid, "factor_id": enrolment["factor_id"], "code": totp.now()},
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "active"

    # Passkey: register with a software authenticator, then raise the session to high.
    key = SoftPasskey(rp_id="localhost", origin="http://localhost:8700")
    r = client.post("/v1/auth/factors/passkey/begin", json={"session_id": sid}, headers=headers)
    options = r.json()
    r = client.post(
        "/v1/auth/factors/passkey/complete",
        json={
            "challenge_id": options["challenge_id"],
            "credential": key.register(options["options"]),
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    r = client.post(
        "/v1/auth/step-up/webauthn/begin",
        json={"session_id": sid, "target": "high"},
        headers=headers,
    )
    challenge = r.json()
    assert challenge["options"]["userVerification"] == "required"
    r = client.post(
        "/v1/auth/step-up/webauthn/complete",
        json={
            "challenge_id": challenge["challenge_id"],
            "credential": key.assert_(challenge["options"]),
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"]["assurance"] == "high" and r.json()["session"] is None

    # A replayed assertion is refused; so is one from another origin.
    assertion = key.assert_(challenge["options"])
    problem(
        client.post(
            "/v1/auth/step-up/webauthn/complete",
            json={"challenge_id": challenge["challenge_id"], "credential": assertion},
            headers=headers,
        ),
        409,
        "replayed",
    )
    r = client.post("/v1/auth/step-up/webauthn/begin", json={"session_id": sid}, headers=headers)
    forged = key.assert_(r.json()["options"], origin="https://phish.example")
    body = problem(
        client.post(
            "/v1/auth/step-up/webauthn/complete",
            json={"challenge_id": r.json()["challenge_id"], "credential": forged},
            headers=headers,
        ),
        403,
        "step-up-failed",
    )
    assert body["attempts_left"] == 2

    # The TOTP factor answers a step-up too (a code is accepted once).
    r = client.post(
        "/v1/auth/assess",
        json={
            "subject": "c-auth-1",
            "action": "pay",
            "observation": {**HOME, "device_id": "x", "user_agent": None, "ip": "82.64.1.1"},
        },
        headers=headers,
    )
    assert r.json()["decision"] == "step_up", r.json()
    assert set(r.json()["step_up_factors"]) == {"otp", "totp", "webauthn"}
    r = client.post(
        "/v1/auth/step-up/totp/begin",
        json={"decision_id": r.json()["decision_id"]},
        headers=headers,
    )
    code = pyotp.TOTP(enrolment["secret"]).now()
    r = client.post(
        "/v1/auth/step-up/totp/complete",
        json={"challenge_id": r.json()["challenge_id"], "code": code},
        headers=headers,
    )
    # The confirmation above may have used this very time step: then it is a replay.
    assert r.status_code in (200, 409), r.text

    # The operator reads why a decision was taken.
    r = client.post(
        "/v1/auth/assess", json={"subject": "c-auth-1", "observation": HOME}, headers=headers
    )
    decision = client.get(f"/v1/auth/decisions/{r.json()['decision_id']}", headers=headers).json()
    assert decision["explanation"] == r.json()["explanation"]
    assert {
        f["kind"]
        for f in client.get("/v1/auth/subjects/c-auth-1/factors", headers=headers).json()["data"]
    } == {"otp", "totp", "webauthn"}


def test_the_gateway_takes_the_assurance_from_the_session(
    client: TestClient, services: Services, issue, tenant: str
) -> None:
    headers = issue(tenant, SCOPES)
    phone = _customer(client, headers, "c-auth-2")
    _customer(client, headers, "c-auth-3")
    expert = issue(tenant, [Scope.ACCESS], "expert")
    ask = {"tokens": [phone], "purpose": "customer_service", "channel": "voice_agent"}

    # A claimed assurance without a session is refused for a key without auth:assert.
    problem(
        client.post(
            "/v1/access",
            json={"action": "detokenize", **ask, "auth_context": {"assurance": "high"}},
            headers=expert,
        ),
        422,
        "auth-context-required",
    )
    session = _sign_in(client, services, headers, "c-auth-2")
    ctx = {"auth_context": {"session_id": session["session_id"]}}
    r = client.post("/v1/access", json={"action": "detokenize", **ask, **ctx}, headers=expert)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["value"] == "+33612345678"

    # Another customer's session does not open this customer's data.
    other = _sign_in(client, services, headers, "c-auth-3")
    body = problem(
        client.post(
            "/v1/access",
            json={
                "action": "detokenize",
                **ask,
                "auth_context": {"session_id": other["session_id"]},
            },
            headers=expert,
        ),
        403,
        "access-denied",
    )
    assert body["policy_ids"] == ["session-subject"]

    # An ended session is gone; a made-up one is unknown; another tenant's key can't use it.
    other_tenant_key = issue(f"{tenant}-x", SCOPES)
    problem(
        client.post(
            "/v1/auth/sessions/inspect",
            json={"session_id": session["session_id"]},
            headers=other_tenant_key,
        ),
        404,
        "unknown-session",
    )
    assert (
        client.post(
            "/v1/auth/sessions/end", json={"session_id": session["session_id"]}, headers=headers
        ).status_code
        == 204
    )
    problem(
        client.post("/v1/access", json={"action": "detokenize", **ask, **ctx}, headers=expert),
        410,
        "session-expired",
    )
    problem(
        client.post(
            "/v1/auth/sessions/inspect", json={"session_id": "ses_made_up"}, headers=headers
        ),
        404,
        "unknown-session",
    )


def test_brute_force_blocks_the_account_with_retry_after(
    client: TestClient, services: Services, issue, tenant: str
) -> None:
    headers = issue(tenant, SCOPES)
    _customer(client, headers, "c-auth-4")
    last = None
    for _ in range(5):
        r = client.post(
            "/v1/auth/assess", json={"subject": "c-auth-4", "observation": HOME}, headers=headers
        )
        r = client.post(
            "/v1/auth/step-up/otp/begin",
            json={"decision_id": r.json()["decision_id"]},
            headers=headers,
        )
        right = _code(services)
        last = client.post(
            "/v1/auth/step-up/otp/complete",
            json={
                "challenge_id": r.json()["challenge_id"],
                "code": "000000" if right != "000000" else "111111",
            },
            headers=headers,
        )
        problem(last, 403, "step-up-failed")
    r = client.post(
        "/v1/auth/assess", json={"subject": "c-auth-4", "observation": HOME}, headers=headers
    )
    problem(r, 423, "account-locked")
    assert int(r.headers["retry-after"]) > 0


def test_bad_input_gets_clear_problems(client: TestClient, issue, tenant: str) -> None:
    headers = issue(tenant, SCOPES)
    cases = [
        ({"subject": "c", "observation": {**HOME, "typing_ms": "fast"}}, 422),
        ({"subject": "c", "observation": {**HOME, "user_agent": "x" * 600}}, 422),
        ({"subject": "c", "observation": {**HOME, "extra": 1}}, 422),
        ({"subject": "c", "action": "teleport", "observation": HOME}, 422),
        ({"subject": "", "observation": HOME}, 422),
        ({"observation": HOME}, 422),
    ]
    for body, status in cases:
        r = client.post("/v1/auth/assess", json=body, headers=headers)
        assert r.status_code == status, (body, r.text)
    # Garbage values in the right types are scored as unknown, not refused.
    r = client.post(
        "/v1/auth/assess",
        json={
            "subject": "c",
            "observation": {"channel": "app", "ip": "999.1.1.1", "typing_ms": -3},
        },
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["decision"] != "allow"
    problem(
        client.post(
            "/v1/auth/step-up/otp/begin", json={"decision_id": "dec_nope"}, headers=headers
        ),
        404,
        "unknown-decision",
    )
    problem(
        client.post(
            "/v1/auth/step-up/otp/begin",
            json={"decision_id": "dec_nope", "session_id": "ses_x"},
            headers=headers,
        ),
        422,
        "invalid-value",
    )
    problem(
        client.post(
            "/v1/auth/step-up/totp/complete",
            json={"challenge_id": "chl_nope", "code": "123456"},
            headers=headers,
        ),
        404,
        "unknown-challenge",
    )
    # Enrolment without a strong session, a device key that is not a key, and missing scopes.
    problem(
        client.post("/v1/auth/factors/totp", json={"session_id": "ses_x"}, headers=headers),
        404,
        "unknown-session",
    )
    device = ed25519.Ed25519PrivateKey.generate().public_key()
    der = device.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    problem(
        client.post(
            "/v1/auth/factors/device",
            json={"session_id": "ses_x", "public_key": base64.b64encode(der).decode()},
            headers=headers,
        ),
        404,
        "unknown-session",
    )
    channel_only = issue(tenant, [Scope.AUTH])
    problem(client.get("/v1/auth/decisions/dec_x", headers=channel_only), 403, "permission-denied")


def test_thresholds_per_tenant_from_settings(
    shared_stores, shared_keyring, tmp_path, issue, tenant: str, other_tenant: str, monkeypatch
) -> None:
    # As an operator sets it: one JSON variable, "*" for everyone, a tenant id for one tenant.
    monkeypatch.setenv(
        "TESSERA_AUTH_THRESHOLDS",
        json.dumps({"*": {"pay": {"step_up": 0.5}}, other_tenant: {"login": {"deny": 9}}}),
    )
    overrides = Settings().auth_thresholds
    services = Services.from_settings(
        settings_for(shared_stores, tmp_path, auth_thresholds=overrides),
        key_provider=shared_keyring,
    )
    client = TestClient(create_app(services), raise_server_exceptions=False)
    headers = {}
    for t in (tenant, other_tenant):
        issue(t, [Scope.AUTH])  # creates the tenant in the shared identity store
        headers[t] = {
            "Authorization": "Bearer "
            + services.identity.issue_key(t, scopes=[Scope.AUTH_MANAGE], name="ops").secret
        }
    mine = client.get("/v1/auth/thresholds", headers=headers[tenant]).json()
    theirs = client.get("/v1/auth/thresholds", headers=headers[other_tenant]).json()
    assert mine["pay"]["step_up"] == theirs["pay"]["step_up"] == 0.5
    assert mine["login"] == {"step_up": 5.0, "deny": 20.0}
    assert theirs["login"] == {"step_up": 5.0, "deny": 9.0}
    no_scope = issue(tenant, [Scope.AUTH])
    problem(client.get("/v1/auth/thresholds", headers=no_scope), 403, "permission-denied")

    with pytest.raises(InvalidThresholds, match="step_up ≤ deny"):
        Services.from_settings(
            settings_for(
                shared_stores, tmp_path, auth_thresholds={tenant: {"pay": {"step_up": 30}}}
            ),
            key_provider=shared_keyring,
        )


def test_an_identity_provider_loads_a_history_by_reporting_strong_authentications(
    client: TestClient, issue, services: Services, tenant: str, other_tenant: str
) -> None:
    """`POST /v1/auth/strong-authentications` (scope auth:assert): the sessions an identity
    provider authenticated strongly teach the profile, so the next usual sign-in is silent."""
    import datetime as dt

    headers = issue(tenant, [*SCOPES, Scope.AUTH_ASSERT])
    now = services.clock()

    def report(when: dt.datetime, *, to=headers, **extra: object):
        body = {
            "subject": "idp-cust",
            "method": "passkey",
            "authenticated_at": when.isoformat(),
            "observation": HOME,
            **extra,
        }
        return client.post("/v1/auth/strong-authentications", json=body, headers=to)

    for days in (9, 6, 3):
        r = report(now - dt.timedelta(days=days, hours=2), event_id=f"evt-{days}")
        assert r.status_code == 201, r.text
    assert r.json()["profile_sessions"] == 3 and r.json()["id"].startswith("rep_")
    r = client.post(
        "/v1/auth/assess", json={"subject": "idp-cust", "observation": HOME}, headers=headers
    )
    assert r.status_code == 200 and r.json()["decision"] == "allow", r.text
    # The same event again, a time ahead of ours, a naive time, a weak method, no scope.
    problem(report(now - dt.timedelta(days=3, hours=2), event_id="evt-3"), 409, "replayed")
    problem(report(now + dt.timedelta(hours=1)), 422, "invalid-signal")
    problem(report(now - dt.timedelta(days=999)), 422, "invalid-signal")
    r = client.post(
        "/v1/auth/strong-authentications",
        json={
            "subject": "idp-cust",
            "method": "passkey",
            "authenticated_at": "2026-11-30T08:00:00",
            "observation": HOME,
        },
        headers=headers,
    )
    problem(r, 422, "validation-error")
    problem(report(now, method="password"), 422, "validation-error")
    problem(report(now, observation={**HOME, "channel": "fax"}), 422, "invalid-signal")
    problem(report(now, subject="x" * 200), 422, "validation-error")
    no_assert = issue(tenant, SCOPES)
    problem(report(now, to=no_assert), 403, "permission-denied")
    # Another tenant's report about a subject of the same name teaches its own profile only.
    theirs = issue(other_tenant, [Scope.AUTH_ASSERT])
    r = report(now - dt.timedelta(hours=1), to=theirs)
    assert r.status_code == 201 and r.json()["profile_sessions"] == 1
    r = report(now - dt.timedelta(hours=1))
    assert r.status_code == 201 and r.json()["profile_sessions"] == 4


def test_a_sim_swap_call_is_never_stepped_up_by_sms_and_the_app_approves_instead(
    client: TestClient, issue, services: Services, tenant: str
) -> None:
    headers = issue(tenant, SCOPES)
    _customer(client, headers, "sim-cust")
    r = client.post(
        "/v1/auth/bindings",
        json={"subject": "sim-cust", "kind": "caller", "identifier": "+33612345678"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    session = _sign_in(client, services, headers, "sim-cust")
    call = {
        "channel": "voice_agent",
        "caller_number": "+33 6 12 34 56 78",
        "attestation": "A",
        "sim_swapped": True,
    }

    def assess() -> dict:
        r = client.post(
            "/v1/auth/assess",
            json={"subject": "sim-cust", "action": "read", "observation": call},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        return r.json()

    refused = assess()  # only an SMS code is enrolled: it would reach the swapped SIM
    assert refused["decision"] == "deny" and refused["step_up_factors"] == []
    assert refused["next_step"] == "agent_checks"
    device = ed25519.Ed25519PrivateKey.generate()
    der = device.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    r = client.post(
        "/v1/auth/factors/device",
        json={"session_id": session["session_id"], "public_key": base64.b64encode(der).decode()},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    key_id = r.json()["id"]
    stepped = assess()
    assert stepped["decision"] == "step_up" and stepped["step_up_factors"] == ["app"]
    begin = {"decision_id": stepped["decision_id"]}
    problem(
        client.post("/v1/auth/step-up/otp/begin", json=begin, headers=headers),
        409,
        "factor-withheld",
    )
    r = client.post("/v1/auth/step-up/app/begin", json=begin, headers=headers)
    assert r.status_code == 200, r.text
    challenge = r.json()
    message = challenge["options"]["approval"]
    signature = base64.urlsafe_b64encode(device.sign(message.encode())).rstrip(b"=").decode()
    answer = {
        "challenge_id": challenge["challenge_id"],
        "credential": {"key_id": key_id, "signature": signature},
    }
    problem(
        client.post(
            "/v1/auth/step-up/app/complete",
            json={"challenge_id": challenge["challenge_id"]},
            headers=headers,
        ),
        422,
        "invalid-value",
    )
    r = client.post("/v1/auth/step-up/app/complete", json=answer, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["session"]["assurance"] == "substantial"
    problem(
        client.post("/v1/auth/step-up/app/complete", json=answer, headers=headers), 409, "replayed"
    )


def test_a_code_is_worded_in_the_customers_language_and_signed_by_the_tenant(
    client: TestClient, issue, services: Services, tenant: str
) -> None:
    headers = issue(tenant, SCOPES)
    _customer(client, headers, "words-cust")
    r = client.post(
        "/v1/auth/assess", json={"subject": "words-cust", "observation": HOME}, headers=headers
    )
    begin = {"decision_id": r.json()["decision_id"], "locale": "fr"}
    r = client.post("/v1/auth/step-up/otp/begin", json=begin, headers=headers)
    assert r.status_code == 200, r.text
    sent = services.authenticator.notifier.last()
    assert sent.message.startswith("Votre code de vérification : ")
    assert f"({services.identity.get_tenant(tenant).name})" in sent.message
    problem(
        client.post("/v1/auth/step-up/otp/begin", json={**begin, "locale": "de"}, headers=headers),
        422,
        "validation-error",
    )
