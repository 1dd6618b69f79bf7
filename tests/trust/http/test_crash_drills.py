"""Crash drills: the server is killed with `kill -9` in the middle of a burst of writes, as a
power cut or the OOM killer would. Afterwards nothing is half-written, the ledger verifies, and
every write the server acknowledged is there. (The key rotation has its own drill, in
tests/vault/test_rotation.py.)"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import httpx2 as httpx
import pytest

from tessera.trust import Scope
from tests.cli import cli_env, run, serving
from tests.conftest import PASSPHRASE, StoreFactory

pytestmark = pytest.mark.slow

WRITERS, KILL_AFTER = 3, 60


def test_a_server_killed_during_a_burst_of_consents_keeps_every_acknowledged_event(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    stores = store_factory.make(migrated=False)
    env = cli_env(stores.env, tmp_path / "data", tmp_path / "keyring.json", PASSPHRASE)
    env["TESSERA_ACCESS_ON_EVENT_LOOP"] = "false"  # the appends run side by side
    run(["db", "upgrade"], env)
    run(["keys", "init"], env)
    from tests.consent.conftest import EXAMPLE

    run(["tenants", "create", "acme"], env)
    run(["consent", "load", str(EXAMPLE), "--tenant", "acme"], env)
    scopes = [arg for scope in (Scope.CONSENT_WRITE, Scope.CONSENT_READ) for arg in ("-s", scope)]
    secret = run(["apikeys", "create", "acme", *scopes], env).stdout.strip()
    acknowledged: list[tuple[str, int]] = []
    failures: list[str] = []
    lock, enough = threading.Lock(), threading.Event()

    with serving(env) as (base, proc):

        def write(writer: int) -> None:
            with httpx.Client(base_url=base, timeout=10) as client:
                for n in range(10_000):
                    event = {
                        "subject": f"c{writer}-{n}",
                        "purpose": "marketing_sms",
                        "kind": "given",
                        "channel": "chat",
                        "evidence": {"message_id": f"m{writer}-{n}"},
                    }
                    try:
                        r = client.post(
                            "/v1/consents",
                            json=event,
                            headers={"Authorization": f"Bearer {secret}"},
                        )
                    except httpx.TransportError as gone:
                        failures.append(repr(gone))
                        return  # the server is gone
                    if r.status_code != 201:
                        failures.append(r.text[:300])
                        return
                    with lock:
                        acknowledged.append((event["subject"], r.json()["event"]["seq"]))
                        if len(acknowledged) >= KILL_AFTER:
                            enough.set()

        threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
        for thread in threads:
            thread.start()
        assert enough.wait(timeout=120), failures
        os.kill(proc.pid, signal.SIGKILL)  # mid-burst: requests are in flight
        for thread in threads:
            thread.join(timeout=30)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL

    verified = run(["consent", "verify", "--tenant", "acme", "--deep"], env).stdout
    assert "ledger intact" in verified, verified
    from tessera.trust import Services
    from tests.trust.cli.test_cli import _settings

    services = Services.from_settings(_settings(env))
    try:
        for subject, seq in acknowledged:
            history = services.consents.history("acme", subject)
            assert [e.seq for e in history] == [seq], (subject, seq)
        # Nothing beyond the acknowledged and the in-flight: the ledger holds no half-event.
        assert services.consents.count("acme") >= len(acknowledged)
    finally:
        services.close()


def test_a_server_killed_during_erasures_leaves_each_subject_erased_and_recorded_or_untouched(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    from tessera.trust import Services
    from tessera.vault import InvalidToken, TokenizeRequest
    from tests.trust.cli.test_cli import _settings

    stores = store_factory.make(migrated=False)
    env = cli_env(stores.env, tmp_path / "data", tmp_path / "keyring.json", PASSPHRASE)
    env["TESSERA_ACCESS_ON_EVENT_LOOP"] = "false"
    run(["db", "upgrade"], env)
    run(["keys", "init"], env)
    run(["tenants", "create", "acme"], env)
    from tests.consent.conftest import EXAMPLE

    run(["consent", "load", str(EXAMPLE), "--tenant", "acme"], env)
    scopes = [a for s in (Scope.ERASE, Scope.SEARCH, Scope.AUTH_ASSERT) for a in ("-s", s)]
    secret = run(["apikeys", "create", "acme", *scopes, "--kind", "dpo"], env).stdout.strip()
    services = Services.from_settings(_settings(env))
    subjects = [f"e{n}" for n in range(400)]
    tokens = {
        s: [
            r.token
            for r in services.vault.tokenize_batch(
                "acme",
                [
                    TokenizeRequest(f"{s}@example.org", "email", s),
                    TokenizeRequest(f"+336{n:08d}", "phone", s),
                ],
            )
        ]
        for n, s in enumerate(subjects)
    }
    services.close()
    acknowledged: list[str] = []
    refusals: list[str] = []
    lock, enough = threading.Lock(), threading.Event()
    headers = {"Authorization": f"Bearer {secret}", "Tessera-Assurance": "high"}

    with serving(env) as (base, proc):

        def erase(share: list[str]) -> None:
            with httpx.Client(base_url=base, timeout=10) as client:
                for subject in share:
                    try:
                        r = client.delete(f"/v1/subjects/{subject}", headers=headers)
                    except httpx.TransportError:
                        return
                    if r.status_code != 200:
                        refusals.append(r.text[:300])
                        return
                    with lock:
                        acknowledged.append(subject)
                        if len(acknowledged) >= 40:
                            enough.set()

        threads = [
            threading.Thread(target=erase, args=(subjects[w::WRITERS],)) for w in range(WRITERS)
        ]
        for thread in threads:
            thread.start()
        assert enough.wait(timeout=120), refusals
        os.kill(proc.pid, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=30)
        proc.wait(timeout=30)

    services = Services.from_settings(_settings(env))  # a restart: the journal is re-applied
    try:
        erased = untouched = 0
        for subject in subjects:
            readable = []
            for token in tokens[subject]:
                try:
                    services.vault.detokenize("acme", token)
                    readable.append(True)
                except InvalidToken:
                    readable.append(False)
            recorded = any(e.get("action") == "erase" for e in services.audit.for_subject(
                "acme", subject))  # fmt: skip
            if not any(readable):
                erased += 1
                assert recorded, subject  # nothing is destroyed before its record
            else:
                assert all(readable), subject  # never half of a subject
                assert subject not in acknowledged, subject
                untouched += 1
        assert erased >= len(acknowledged) and untouched > 0
        export, key = tmp_path / "audit.json", tmp_path / "audit-key.json"
        run(["audit", "export", "--tenant", "acme", "--output", str(export)], env)
        key.write_text(run(["audit", "public-key", "--tenant", "acme"], env).stdout)
        verified = run(["audit", "verify", str(export), "--public-key", str(key)], env).stdout
        assert "audit export valid" in verified, verified
    finally:
        services.close()


def test_a_server_killed_during_captures_never_charges_twice_and_agrees_with_the_processor(
    store_factory: StoreFactory, tmp_path: Path, processor_url: str
) -> None:
    """Captures run side by side and the server is killed among them. After the restart and
    `tessera payments reconcile`, a payment is captured here exactly when the processor
    captured it, for its amount (one whose answer the kill swallowed included); the callers'
    retries of the rest capture each once. In the end both sides agree on every payment."""
    from tests.payments.test_payments import charges

    stores = store_factory.make(migrated=False)
    env = cli_env(stores.env, tmp_path / "data", tmp_path / "keyring.json", PASSPHRASE)
    env["TESSERA_PROCESSOR_URL"] = processor_url
    run(["db", "upgrade"], env)
    run(["keys", "init"], env)
    run(["tenants", "create", "acme"], env)
    scopes = [a for s in (Scope.PAYMENTS, Scope.PAYMENTS_CARD) for a in ("-s", s)]
    secret = run(["apikeys", "create", "acme", *scopes], env).stdout.strip()
    auth = {"Authorization": f"Bearer {secret}"}
    card = {"number": "4242 4242 4242 4242", "expiry": "12/34", "cvc": "123"}
    amounts: dict[str, int] = {}
    with serving(env) as (base, proc), httpx.Client(base_url=base, timeout=10) as client:
        for n in range(90):
            body = {"subject": f"p{n}", "amount": 1000 + n, "currency": "EUR",
                    "payee": "Boutique", "channel": "chat"}  # fmt: skip
            made = client.post("/v1/payments", json=body,
                               headers={**auth, "Idempotency-Key": f"drill-{n}"})  # fmt: skip
            assert made.status_code == 201, made.text
            paid = client.post(f"/v1/payments/{made.json()['id']}/card", json=card, headers=auth)
            assert paid.json()["state"] == "authorized", paid.text
            amounts[made.json()["id"]] = 1000 + n
        acknowledged: list[str] = []
        lock, enough = threading.Lock(), threading.Event()

        def capture(share: list[str]) -> None:
            with httpx.Client(base_url=base, timeout=10) as own:
                for payment in share:
                    try:
                        r = own.post(f"/v1/payments/{payment}/capture", json={}, headers=auth)
                    except httpx.TransportError:
                        return
                    if r.status_code == 200:
                        with lock:
                            acknowledged.append(payment)
                            if len(acknowledged) >= 20:
                                enough.set()

        ids = list(amounts)
        threads = [
            threading.Thread(target=capture, args=(ids[w::WRITERS],)) for w in range(WRITERS)
        ]
        for thread in threads:
            thread.start()
        assert enough.wait(timeout=120)
        os.kill(proc.pid, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=30)
        proc.wait(timeout=30)

    def at_processor() -> dict[str, int]:
        return {c["key"].split(":")[0]: c["captured"] for c in charges(processor_url)
                if c["key"].split(":")[0] in amounts}  # fmt: skip

    reconciled = run(["payments", "reconcile"], env).stdout  # at restart, as an operator would
    assert "payments reconciled with the processor" in reconciled, reconciled
    with serving(env) as (base, _), httpx.Client(base_url=base, timeout=10) as client:
        before = at_processor()
        states = {p: client.get(f"/v1/payments/{p}", headers=auth).json()["state"] for p in ids}
        assert all(states[p] == "captured" for p in acknowledged)
        for payment, state in states.items():  # reconciled: both sides agree before any retry
            assert (state == "captured") == bool(before[payment]), payment
            if state == "captured":
                assert before[payment] == amounts[payment], payment
        untouched = [p for p, s in states.items() if s == "authorized" and not before[p]]
        assert untouched, "the kill came after every capture: the drill proved nothing"
        for payment, state in states.items():
            if state == "authorized":  # the caller retries what it never saw answered
                r = client.post(f"/v1/payments/{payment}/capture", json={}, headers=auth)
                assert r.status_code == 200 and r.json()["state"] == "captured", r.text
        after = at_processor()
        assert after == {p: amounts[p] for p in ids}  # each captured once, for its amount
        final = {p: client.get(f"/v1/payments/{p}", headers=auth).json()["state"] for p in ids}
        assert set(final.values()) == {"captured"}
