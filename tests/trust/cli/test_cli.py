from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from tessera.storage import Store, head_revision
from tests.cli import cli_env, kill_when, run
from tests.conftest import PASSPHRASE, StoreFactory


@pytest.fixture
def env(store_factory: StoreFactory, tmp_path: Path) -> dict[str, str]:
    stores = store_factory.make(migrated=False)
    return cli_env(stores.env, tmp_path, tmp_path / "keyring.json", PASSPHRASE)


def one_line_error(done, fragment: str) -> None:
    """Exit code 1, no stack trace, and one `error:` line (after any progress lines)."""
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], done.stderr
    assert fragment in errors[0], errors[0]


def test_operator_flow(env: dict[str, str], tmp_path: Path) -> None:
    assert (
        f"data store at {head_revision(Store.DATA)}, key store at {head_revision(Store.KEYS)}"
        in run(["db", "upgrade"], env).stdout
    )
    assert f"(head {head_revision(Store.DATA)})" in run(["db", "status"], env).stdout
    assert "current key-encryption key version 1" in run(["keys", "init"], env).stdout
    assert stat.S_IMODE((tmp_path / "keyring.json").stat().st_mode) == 0o600

    run(["tenants", "create", "acme", "--name", "ACME Bank"], env)
    assert "ACME Bank" in run(["tenants", "list"], env).stdout
    events = run(["audit", "events", "--tenant", "acme"], env).stdout
    assert "tenant_created" in events and "cli:" in events

    created = run(["apikeys", "create", "acme", "-s", "tokens:write", "--name", "crm"], env)
    secret = created.stdout.strip()
    assert re.fullmatch(r"tsk_[a-z2-7]{16}_[a-z2-7]{32}", secret)
    listed = run(["apikeys", "list", "acme"], env).stdout
    assert "crm" in listed and secret not in listed and secret.split("_")[2] not in listed

    key_id = secret.split("_")[1]
    assert "revoked" in run(["apikeys", "revoke", key_id], env).stdout
    row = next(
        line for line in run(["apikeys", "list", "acme"], env).stdout.splitlines() if "crm" in line
    )
    assert row.count("+00:00") == 2  # created and revoked

    assert "rotation to KEK version 2 finished" in run(["keys", "rotate"], env).stdout
    assert "current version 2, versions [1, 2]" in run(["keys", "status"], env).stdout


def test_wrong_passphrase_is_one_line(env: dict[str, str]) -> None:
    run(["keys", "init"], env)
    one_line_error(
        run(["keys", "status"], {**env, "TESSERA_KEYRING_PASSPHRASE": "nope"}, check=False),
        "wrong passphrase",
    )


def test_missing_passphrase_names_the_variable(env: dict[str, str]) -> None:
    env = {k: v for k, v in env.items() if k != "TESSERA_KEYRING_PASSPHRASE"}
    one_line_error(run(["keys", "init"], env, check=False), "TESSERA_KEYRING_PASSPHRASE")


def test_duplicate_tenant_and_bad_input_are_one_line(env: dict[str, str]) -> None:
    run(["tenants", "create", "acme"], env)
    one_line_error(run(["tenants", "create", "acme"], env, check=False), "already exists")
    one_line_error(run(["tenants", "create", "Not Valid"], env, check=False), "tenant id")
    one_line_error(
        run(["apikeys", "create", "nobody", "-s", "tokens:write"], env, check=False), "no tenant"
    )
    one_line_error(
        run(["apikeys", "create", "acme", "-s", "everything"], env, check=False), "unknown scope"
    )
    one_line_error(run(["apikeys", "revoke", "nosuchkey"], env, check=False), "no API key")


def test_missing_key_version_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    """A key store written under a KEK the keyring no longer holds (e.g. a restored old keyring)."""
    run(["keys", "init"], env)
    run(["tenants", "create", "acme"], env)
    saved = (tmp_path / "keyring.json").read_bytes()
    run(["keys", "rotate"], env)
    # Data keys are now wrapped under v2; put back the keyring that only knows v1.
    from tessera.trust import Services

    services = Services.from_settings(_settings(env))
    services.vault.tokenize("acme", "x", subject="s1")
    services.close()
    (tmp_path / "keyring.json").write_bytes(saved)
    one_line_error(run(["keys", "rotate"], env, check=False), "version 2 is not held")


def _settings(env: dict[str, str]):
    from pydantic import SecretStr

    from tessera.trust import Settings

    return Settings(
        data_dir=Path(env["TESSERA_DATA_DIR"]),
        database_url=env["TESSERA_DATABASE_URL"],
        database_schema=env.get("TESSERA_DATABASE_SCHEMA"),
        keystore_url=env["TESSERA_KEYSTORE_URL"],
        keystore_schema=env.get("TESSERA_KEYSTORE_SCHEMA"),
        keyring_path=Path(env["TESSERA_KEYRING_PATH"]),
        keyring_passphrase=SecretStr(env["TESSERA_KEYRING_PASSPHRASE"]),
    )


def test_demo_runs_end_to_end(env: dict[str, str]) -> None:
    done = run(["demo"], env)
    assert "Demo complete" in done.stdout
    assert "step-up" in done.stdout and "bot-never-clear" in done.stdout
    assert "verified" in done.stdout and "was altered" in done.stdout
    assert "4970101234567893" not in done.stdout  # the demo never prints the clear card number
    # Payments: a chat link (a code the first time, then the low-value exemption), a passkey
    # for a large one, its card kept and used in one tap, a phone payment keyed on the keypad;
    # decisions in the audit trail.
    assert "Paiement accepté" in done.stdout and "low_value" in done.stdout
    assert "authenticated=True" in done.stdout and "moto" in done.stdout
    assert "in one tap" in done.stdout and "RTS Art. 4, 5" in done.stdout
    assert "4242424242424242" not in done.stdout
    # The call's transcript (the keypad window) and a chat, redacted before they are stored.
    assert "[DTMF] <CARD>" in done.stdout and "tessera_keypad_window" in done.stdout
    assert "<IBAN>" in done.stdout and "<EMAIL>" in done.stdout
    assert "FR76 3000" not in done.stdout and "4 2 4 2" not in done.stdout
    # An English call as a plain-text file, tokenized for an AI summarizer; the summary read
    # back masked for the agent and the bot, in clear for the expert after a step-up.
    assert "Caller: Yeah it's <SSN>." in done.stdout and "Caller: It's <CARD>" in done.stdout
    assert "Caller: <CARD>. Send the new one to <ADDRESS>." in done.stdout
    assert "4970 1012" not in done.stdout and "two one nine" not in done.stdout
    assert "a•••@example.com" in done.stdout and "clear by" in done.stdout
    # It ends at the DPO console: its address and the demo DPO's sign-in.
    assert "/console/demo-bank/" in done.stdout and "sign in as dpo" in done.stdout
    assert "otpauth://totp/" in done.stdout


@pytest.mark.slow
def test_bulk_import_killed_mid_way_resumes(env: dict[str, str], tmp_path: Path) -> None:

    run(["tenants", "create", "acme"], env)
    source = tmp_path / "crm.jsonl"
    with source.open("w") as fh:
        for i in range(3000):
            fh.write(
                json.dumps(
                    {"value": f"+3361234{i:04d}", "category": "phone", "subject": f"c{i}", "ref": i}
                )
                + "\n"
            )
    output = tmp_path / "tokens.jsonl"
    args = [
        "tokens",
        "import",
        str(source),
        "--tenant",
        "acme",
        "--output",
        str(output),
        "--batch-size",
        "50",
        "--pause",
        "0.02",
    ]
    kill_when(args, env, "read", lambda done: done > 20_000)
    assert (tmp_path / "tokens.jsonl.checkpoint").exists()

    done = run(["tokens", "import", str(source), "--tenant", "acme", "--output", str(output)], env)
    assert "3000 values tokenized, 0 refused" in done.stdout and "resumed after line" in done.stdout
    refs = [json.loads(line)["ref"] for line in output.read_text().splitlines()]
    assert refs == list(range(3000))


def test_bulk_import_of_a_missing_file_or_tenant_is_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"value": "x"}\n')
    one_line_error(
        run(
            [
                "tokens",
                "import",
                str(source),
                "--tenant",
                "nobody",
                "--output",
                str(tmp_path / "o.jsonl"),
            ],
            env,
            check=False,
        ),
        "no tenant",
    )
    missing = run(
        [
            "tokens",
            "import",
            str(tmp_path / "nope.jsonl"),
            "--tenant",
            "acme",
            "--output",
            str(tmp_path / "o.jsonl"),
        ],
        env,
        check=False,
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_consent_operator_flow(env: dict[str, str], tmp_path: Path) -> None:

    from tests.consent.conftest import EXAMPLE

    run(["tenants", "create", "acme"], env)
    loaded = run(["consent", "load", str(EXAMPLE), "--tenant", "acme"], env).stdout
    assert "marketing_sms: consent, notice v1" in loaded
    from tessera.consent import ConsentRequest
    from tessera.trust import Services

    services = Services.from_settings(_settings(env))
    event = services.consents.record(
        "acme",
        ConsentRequest("c1", "marketing_sms", "given", "voice_ivr", {"recording_ref": "rec-1"}),
    )
    services.consents.record(
        "acme", ConsentRequest("c1", "marketing_sms", "withdrawn", "chat", {"message_id": "msg-1"})
    )
    services.dsr.open("acme", "c1", "access")
    receipt = services.receipts.issue("acme", event)
    services.close()

    assert (
        "ledger intact: 2 events"
        in run(["consent", "verify", "--tenant", "acme", "--deep"], env).stdout
    )
    assert "rebuilt from 2 events" in run(["consent", "rebuild", "--tenant", "acme"], env).stdout
    kept = tmp_path / "head.jws"
    assert (
        "head of 2 events"
        in run(["consent", "head", "--tenant", "acme", "--output", str(kept)], env).stdout
    )
    assert (
        "it extends your head of 2"
        in run(["consent", "verify", "--tenant", "acme", "--trusted-head", str(kept)], env).stdout
    )
    kept.write_text(kept.read_text()[:-8] + "AAAAAAA\n")
    one_line_error(
        run(
            ["consent", "verify", "--tenant", "acme", "--trusted-head", str(kept)], env, check=False
        ),
        "does not verify",
    )
    export = tmp_path / "ledger.jsonl"
    run(["consent", "export", "--tenant", "acme", "--output", str(export)], env)
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert [line["channel"] for line in lines] == ["voice_ivr", "chat"]

    key = tmp_path / "key.json"
    key.write_text(run(["consent", "public-key", "--tenant", "acme"], env).stdout)
    (tmp_path / "receipt.jws").write_text(receipt)
    offline = {k: v for k, v in env.items() if not k.startswith("TESSERA_")}  # no DB, no secret
    checked = run(
        ["consent", "verify-receipt", str(tmp_path / "receipt.jws"), "--public-key", str(key)],
        offline,
    )
    assert (
        "receipt valid" in checked.stdout and "given marketing_sms on voice_ivr" in checked.stdout
    )
    (tmp_path / "forged.jws").write_text(lines[1]["receipt"][:-6] + "AAAAAA")
    one_line_error(
        run(
            ["consent", "verify-receipt", str(tmp_path / "forged.jws"), "--public-key", str(key)],
            offline,
            check=False,
        ),
        "does not verify",
    )

    listed = run(["dsr", "list", "--tenant", "acme"], env).stdout
    assert "access" in listed and "received" in listed
    assert "c1" not in run(["dsr", "list", "--tenant", "acme", "--overdue"], env).stdout


def test_bad_catalogue_file_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    run(["tenants", "create", "acme"], env)
    bad = tmp_path / "bad.toml"
    bad.write_text('[controller]\nname = "X"\n[[purpose]]\nid = "p"\nlegal_basis = "whim"\n')
    one_line_error(
        run(["consent", "load", str(bad), "--tenant", "acme"], env, check=False),
        "purpose.0.legal_basis",
    )
    bad.write_text("not = [toml")
    one_line_error(
        run(["consent", "load", str(bad), "--tenant", "acme"], env, check=False), "not valid TOML"
    )


def test_policy_validate_and_test(env: dict[str, str], tmp_path: Path) -> None:
    import shutil

    from tessera.policies import DEFAULT_POLICY_DIR

    assert "policies valid" in run(["policy", "validate"], env).stdout
    done = run(["policy", "test"], env)
    assert " 0 failed" in done.stdout
    changed = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_DIR, changed)
    text = (changed / "contact_centre.cedar").read_text()
    (changed / "contact_centre.cedar").write_text(text.replace('"postal_address"]', '"iban"]'))
    failing = run(["policy", "test", "--policies", str(changed)], env, check=False)
    assert failing.returncode == 1 and "FAIL" in failing.stdout
    (changed / "broken.cedar").write_text("permit (principal")
    one_line_error(
        run(["policy", "validate", "--policies", str(changed)], env, check=False), "broken.cedar"
    )


def test_audit_export_and_offline_verify(env: dict[str, str], tmp_path: Path) -> None:

    from tessera.trust import AuditRecord, Services

    run(["tenants", "create", "acme"], env)
    services = Services.from_settings(_settings(env))
    services.audit.record(
        [
            AuditRecord(
                "acme",
                "access",
                {
                    "action": "read_masked",
                    "caller": "k1",
                    "caller_kind": "agent",
                    "categories": ["email"],
                    "purpose": "customer_service",
                    "outcome": "allow",
                    "policies": ["agent-masked-contact"],
                },
                subject="c1",
            )
            for _ in range(3)
        ]
    )
    services.close()
    # The tenant's creation is its first entry, then the three accesses.
    kept = tmp_path / "kept-checkpoint.json"
    checkpointed = run(["audit", "checkpoint", "--tenant", "acme", "--output", str(kept)], env)
    assert "4 entries" in checkpointed.stdout and json.loads(kept.read_text())["size"] == 4
    export = tmp_path / "audit.json"
    run(["audit", "export", "--tenant", "acme", "--output", str(export)], env)
    key = tmp_path / "audit-key.json"
    key.write_text(run(["audit", "public-key", "--tenant", "acme"], env).stdout)
    offline = {k: v for k, v in env.items() if not k.startswith("TESSERA_")}
    verify = ["audit", "verify", str(export), "--public-key", str(key)]
    assert "audit export valid: 4 entries" in run(verify, offline).stdout
    trusting = [*verify, "--trusted-checkpoint", str(kept)]
    assert "it extends your checkpoint of 4" in run(trusting, offline).stdout
    (tmp_path / "not-json").write_text("{")
    one_line_error(
        run([*verify, "--trusted-checkpoint", str(tmp_path / "not-json")], offline, check=False),
        "cannot read the files given",
    )
    data = json.loads(export.read_text())
    del data["entries"][1]
    export.write_text(json.dumps(data))
    one_line_error(
        run(["audit", "verify", str(export), "--public-key", str(key)], offline, check=False),
        "entry 1 is missing",
    )
    assert (
        "agent-masked-contact"
        in run(["audit", "who", "--tenant", "acme", "--subject", "c1"], env).stdout
    )


def test_auth_load_history_loads_profiles_and_resumes(env: dict[str, str], tmp_path: Path) -> None:
    """`tessera auth load-history`: an identity provider's log of strong authentications,
    line by line; a second run after a stop skips what was loaded; bad lines are refused with
    their line number and change nothing."""
    import datetime as dt

    run(["tenants", "create", "acme"], env)
    now = dt.datetime.now(dt.UTC)
    seen = {"channel": "app", "ip": "86.200.12.34", "device_id": "install-1"}
    lines = [
        json.dumps(
            {
                "subject": "c-hist",
                "method": "passkey",
                "authenticated_at": (now - dt.timedelta(days=d)).isoformat(),
                "event_id": f"evt-{d}",
                "observation": seen,
            }
        )
        for d in range(1, 6)
    ]
    history = tmp_path / "history.ndjson"
    history.write_text("\n".join(lines[:3]) + "\n")
    done = run(["auth", "load-history", "--tenant", "acme", str(history)], env)
    assert "3 strong authentications loaded, 0 already loaded, 0 refused" in done.stdout
    assert "loaded 3/3" in done.stderr  # progress, one plain line off a terminal
    bad = [
        "not json",
        json.dumps({"subject": "c-hist", "method": "passkey", "observation": seen}),
        json.dumps({**json.loads(lines[3]), "method": "password"}),
        json.dumps({**json.loads(lines[3]), "observation": {**seen, "gps": "48.85,2.35"}}),
        json.dumps(
            {**json.loads(lines[3]), "authenticated_at": (now + dt.timedelta(days=1)).isoformat()}
        ),
    ]
    history.write_text("\n".join([*lines, *bad]) + "\n")
    again = run(["auth", "load-history", "--tenant", "acme", str(history)], env, check=False)
    assert again.returncode == 1
    assert "2 strong authentications loaded, 3 already loaded, 5 refused" in again.stdout
    for number in (6, 7, 8, 9, 10):
        assert f"line {number}:" in again.stderr
    assert "Traceback" not in again.stderr


def test_auth_explain_bind_purge_and_thresholds(env: dict[str, str]) -> None:
    from tessera.auth import Observation
    from tessera.storage import utcnow
    from tessera.trust import Services

    run(["tenants", "create", "acme"], env)
    assert (
        "bound caller number: fac_"
        in run(
            [
                "auth",
                "bind",
                "--tenant",
                "acme",
                "--subject",
                "c1",
                "--caller-number",
                "0612345678",
            ],
            env,
        ).stdout
    )
    services = Services.from_settings(_settings(env))
    decision = services.authenticator.assess(
        "acme",
        "c1",
        Observation(channel="voice_agent", at=utcnow(), caller_number="+447700900123"),
    )
    # A row from before factor seals (as migration 0015 leaves it) is sealed by the operator,
    # once, each in the audit trail.
    from sqlalchemy import update

    from tessera.auth._tables import AuthFactorRow

    with services.data.begin() as conn:
        conn.execute(update(AuthFactorRow.__table__).values(mac=None))
    assert "1 factors sealed" in run(["auth", "seal-factors", "--tenant", "acme"], env).stdout
    assert "0 factors sealed" in run(["auth", "seal-factors", "--tenant", "acme"], env).stdout
    from sqlalchemy import select

    from tessera.trust.audit import AuditEntryRow

    entries = AuditEntryRow.__table__
    with services.data.read() as conn:
        bodies = conn.execute(
            select(entries.c.body).where(entries.c.tenant_id == "acme", entries.c.kind == "auth")
        ).scalars()
        sealed = [json.loads(b) for b in bodies if '"factor_sealed"' in b]
    assert [(e["subject"], e["kind"]) for e in sealed] == [("c1", "auth")]
    services.audit.verify("acme")  # raises when an entry was not written by the service
    one_line_error(
        run(["auth", "seal-factors", "--tenant", "Not A Tenant"], env, check=False), "tenant"
    )
    services.close()
    shown = run(["auth", "explain", "--tenant", "acme", decision.decision_id], env).stdout
    assert decision.decision_id in shown and "no sign-in history yet" in shown
    assert "caller_id" in shown and "raised the risk" in shown
    one_line_error(
        run(["auth", "explain", "--tenant", "acme", "dec_nope"], env, check=False),
        "no such risk decision",
    )
    assert "0 decisions past retention removed" in run(["auth", "purge"], env).stdout
    strict = {**env, "TESSERA_AUTH_THRESHOLDS": json.dumps({"acme": {"pay": {"step_up": 0.5}}})}
    shown = run(["auth", "thresholds", "--tenant", "acme"], strict).stdout
    assert re.search(r"pay\s+│\s+0\.5\s+│\s+16", shown), shown
    others = run(["auth", "thresholds", "--tenant", "x"], strict).stdout
    assert re.search(r"pay\s+│\s+1\s+│\s+16", others), others
    bad = {**env, "TESSERA_AUTH_THRESHOLDS": json.dumps({"acme": {"refund": {"deny": 1}}})}
    one_line_error(
        run(["auth", "thresholds", "--tenant", "acme"], bad, check=False), "unknown action 'refund'"
    )


def test_payments_show_and_expire(env: dict[str, str]) -> None:
    from tessera.payments import Money
    from tessera.trust import Services

    run(["tenants", "create", "acme"], env)
    services = Services.from_settings(_settings(env))
    created = services.payments.create_intent(
        "acme", "c1", Money(1250, "EUR"), payee="Boutique", idempotency_key="k1"
    )
    services.close()
    shown = run(["payments", "show", "--tenant", "acme", created.id], env).stdout
    assert "created" in shown and "12.50 EUR to Boutique" in shown
    one_line_error(
        run(["payments", "show", "--tenant", "acme", "pay_nope"], env, check=False),
        "no such payment",
    )
    link = run(["payments", "link", "--tenant", "acme", created.id], env)
    assert re.fullmatch(
        r"http://localhost:8700/pay/pay_[\w-]+\.\d{10}\.[\w-]{16}\.[\w-]{43}\n", link.stdout
    )
    assert "expires" in link.stderr
    one_line_error(
        run(["payments", "link", "--tenant", "other", created.id], env, check=False),
        "no such payment",
    )
    assert "payments expired" in run(["payments", "expire"], env).stdout


def test_payments_cards_lists_and_removes_cards_on_file(env: dict[str, str]) -> None:
    from tessera.consent import ConsentRequest, load_catalogue_file
    from tessera.trust import Services
    from tessera.vault import DataCategory
    from tests.consent.conftest import EXAMPLE

    run(["tenants", "create", "acme"], env)
    cards = ["payments", "cards", "--tenant", "acme", "c1"]
    assert "no cards on file" in run(cards, env).stdout
    services = Services.from_settings(_settings(env))
    services.catalogue.load("acme", load_catalogue_file(EXAMPLE))
    services.consents.record(
        "acme", ConsentRequest("c1", "card_on_file", "given", "chat", {"message_id": "msg-1"})
    )
    token = services.vault.tokenize(
        "acme", "4242424242424242", category=DataCategory.CARD_PAN, subject="c1"
    ).token
    kept = services.payments.cards.keep("acme", "c1", token, brand="visa", expiry="12/34")
    services.close()
    listed = run(cards, env).stdout
    assert kept.id in listed and "4242" in listed and "4242424242424242" not in listed
    one_line_error(run([*cards, "--remove", "card_nope"], env, check=False), "no such card")
    assert f"removed {kept.id}" in run([*cards, "--remove", kept.id], env).stdout
    assert "no cards on file" in run(cards, env).stdout


def test_webhooks_add_list_deliver_remove(env: dict[str, str]) -> None:
    run(["tenants", "create", "acme"], env)
    added = run(["webhooks", "add", "--tenant", "acme", "https://crm.example.com/hooks"], env)
    assert added.stdout.startswith("whsec_") and "whe_" in added.stderr
    endpoint = re.search(r"whe_[\w-]+", added.stderr)[0]  # type: ignore[index]
    assert endpoint in run(["webhooks", "list", "--tenant", "acme"], env).stdout
    assert "0 deliveries made" in run(["webhooks", "deliver"], env).stdout
    one_line_error(
        run(["webhooks", "add", "--tenant", "acme", "http://crm.example.com/"], env, check=False),
        "https",
    )
    one_line_error(
        run(["webhooks", "remove", "--tenant", "acme", "whe_nope"], env, check=False),
        "no such webhook endpoint",
    )
    assert "removed" in run(["webhooks", "remove", "--tenant", "acme", endpoint], env).stdout


def test_keys_erasures_reports_forged_rows_and_vouches_for_old_ones(env: dict[str, str]) -> None:
    import datetime as dt

    from sqlalchemy import insert

    from tessera.trust import Services
    from tessera.vault._models import SubjectErasure

    run(["db", "upgrade"], env)
    run(["keys", "init"], env)
    run(["tenants", "create", "acme"], env)
    assert "the erasure journal is empty" in run(["keys", "erasures"], env).stdout
    services = Services.from_settings(_settings(env))
    token = services.vault.tokenize("acme", "a@example.fr", category="email", subject="c1").token
    row = dict(
        tenant_id="acme",
        erased_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        keys_destroyed=1,
        items_destroyed=1,
    )
    with services.data.begin() as conn:  # one from before sealing, one a writer made up
        conn.execute(insert(SubjectErasure.__table__).values(row | {"subject_id": "c0"}))
        conn.execute(
            insert(SubjectErasure.__table__).values(row | {"subject_id": "c1", "mac": "ab" * 32})
        )
    assert "acme: 0 sealed, 1 unsealed, 1 forged" in run(["keys", "erasures"], env).stdout
    # Every start (this command's too) reports the forged row and destroys nothing.
    events = [e["event"] for e in services.audit.security_events("acme")]
    assert "erasure_journal_forged" in events
    assert services.vault.detokenize("acme", token).value == "a@example.fr"

    vouched = run(["keys", "erasures", "--vouch-unsealed"], env).stdout
    assert "vouched for 1 unsealed rows" in vouched
    assert "acme: 1 sealed, 0 unsealed, 1 forged" in vouched
    events = [e["event"] for e in services.audit.security_events("acme")]
    assert "erasure_journal_vouched" in events
    services.close()


@pytest.mark.slow
def test_the_demo_serves_the_portal_and_its_link_signs_the_customer_in(
    env: dict[str, str],
) -> None:
    """`tessera demo --serve`: the printed link opens the portal for the demo customer, the
    code it asks arrives in the demo's output, and the customer is in."""
    import re
    import signal
    import subprocess

    import httpx2 as httpx

    from tests.cli import TESSERA

    proc = subprocess.Popen(
        [TESSERA, "demo", "--serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    try:
        link = None
        for line in proc.stdout:
            if "/link/" in line:
                link = line.strip()
            if line.startswith("Serving"):
                break
        assert link is not None and link.startswith("http://127.0.0.1:")
        with httpx.Client(
            headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"}
        ) as browser:
            page = browser.get(link)
            assert page.status_code == 200 and "privacy space" in page.text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            page = browser.post(link, data={"csrf": csrf})
            assert page.status_code == 200 and 'name="code"' in page.text
            code = None
            for line in proc.stdout:
                found = re.search(r"\b(\d{6})\b", line)
                if "sms to" in line and found:
                    code = found.group(1)
                    break
            fields = dict(
                re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text)
            )
            base = link.split("/link/")[0]
            done = browser.post(
                f"{base}/sign-in/code", data={**fields, "code": code}, follow_redirects=True
            )
            assert done.status_code == 200 and "Your privacy space" in done.text
            consents = browser.get(f"{base}/consents")
            assert "on the automated phone line" in consents.text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            # Read what it still says while it stops: a full pipe would stall its last line.
            rest = proc.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, rest[-2000:]


def test_a_bad_setting_or_an_absent_database_is_one_line(env: dict[str, str]) -> None:
    done = run(["tenants", "list"], {**env, "TESSERA_RATE_LIMIT_PER_SECOND": "abc"}, check=False)
    one_line_error(done, "TESSERA_RATE_LIMIT_PER_SECOND")
    assert "abc" not in done.stderr  # the value is never repeated (it could be a secret)
    gone = "postgresql+psycopg://postgres@127.0.0.1:1/test"
    done = run(
        ["tenants", "list"],
        {**env, "TESSERA_DATABASE_URL": gone, "TESSERA_KEYSTORE_URL": gone},
        check=False,
    )
    one_line_error(done, "the database cannot be reached")


def test_lists_answer_json_and_never_cut_an_id(env: dict[str, str]) -> None:
    run(["tenants", "create", "acme"], env)
    secret = run(["apikeys", "create", "acme", "-s", "dsr:manage", "--name", "crm"], env)
    key_id = re.search(r"API key (\S+) for", secret.stderr)[1]  # type: ignore[index]
    keys = json.loads(run(["apikeys", "list", "acme", "--json"], env).stdout)
    assert [k["id"] for k in keys] == [key_id] and keys[0]["scopes"]
    tenants = json.loads(run(["tenants", "list", "--json"], env).stdout)
    assert tenants[0]["id"] == "acme" and "created" in tenants[0]
    from tessera.consent import DsrKind
    from tessera.trust import Services

    services = Services.from_settings(_settings(env))
    opened = services.dsr.open("acme", "customer-with-a-long-subject-id-0001", DsrKind.ACCESS)
    services.close()
    narrow = {**env, "COLUMNS": "40"}
    table = run(["dsr", "list", "--tenant", "acme"], narrow).stdout
    assert opened.id in table and "…" not in table.split(opened.id)[0][-3:]
    requests = json.loads(run(["dsr", "list", "--tenant", "acme", "--json"], env).stdout)
    assert requests[0]["id"] == opened.id and requests[0]["overdue"] is False
    assert json.loads(run(["staff", "list", "--tenant", "acme", "--json"], env).stdout) == []
    assert json.loads(run(["audit", "events", "--tenant", "acme", "--json"], env).stdout)
    stores = json.loads(run(["db", "status", "--json"], env).stdout)
    assert [s["store"] for s in stores] == ["data", "keys"] and stores[0]["revision"]
    assert json.loads(run(["keys", "status", "--json"], env).stdout)["current_version"] >= 1
    limits = json.loads(run(["auth", "thresholds", "--tenant", "acme", "--json"], env).stdout)
    assert {"action", "step up at", "deny at"} <= set(limits[0])


def test_apikeys_create_help_names_every_scope_and_caller_kind(env: dict[str, str]) -> None:
    from tessera.policies import CallerKind
    from tessera.trust.identity import Scope

    shown = " ".join(run(["apikeys", "create", "--help"], {**env, "COLUMNS": "300"}).stdout.split())
    for scope in Scope:
        assert scope.value in shown, scope
    for kind in CallerKind:
        assert kind.value in shown, kind


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("TESSERA_AUTO_MIGRATE", "maybe", "valid boolean"),  # a flag
        ("TESSERA_PORT", "99999999", "less than or equal to 65535"),  # a bounded number
        ("TESSERA_RATE_LIMIT_BURST", "lots", "valid integer"),  # a whole number
        ("TESSERA_API_KEY_CACHE_SECONDS", "-1", "greater than or equal to 0"),  # a duration
        ("TESSERA_LOG_LEVEL", "loud", "'debug', 'info', 'warning' or 'error'"),  # a choice
        ("TESSERA_AUTH_THRESHOLDS", "{bad", "not valid JSON"),  # an object
        ("TESSERA_WEBAUTHN_ORIGINS", "nope", "not valid JSON"),  # a list
        ("TESSERA_PAYMENT_FRAME_ANCESTORS", '["javascript:x"]', "not an origin"),  # checked text
        ("TESSERA_TRACE_SAMPLE_RATIO", "2", "less than or equal to 1"),  # a share
        ("TESSERA_TRACES_PER_SECOND", "nan", "finite number"),  # a rate
    ],
)
def test_each_kind_of_bad_setting_is_one_line_naming_it(
    env: dict[str, str], name: str, value: str, said: str
) -> None:
    done = run(["tenants", "list"], {**env, name: value}, check=False)
    one_line_error(done, name)
    assert said in done.stderr, done.stderr


def test_an_unreachable_database_names_where_it_looked_never_the_password(
    env: dict[str, str],
) -> None:
    gone = "postgresql+psycopg://tessera:s3cret-pw@127.0.0.1:1/prod"
    done = run(
        ["tenants", "list"],
        {**env, "TESSERA_DATABASE_URL": gone, "TESSERA_KEYSTORE_URL": gone},
        check=False,
    )
    one_line_error(done, "the database cannot be reached")
    assert "127.0.0.1:1/prod" in done.stderr and "s3cret-pw" not in done.stderr


def test_a_key_provider_that_does_not_open_is_one_line(env: dict[str, str]) -> None:
    run(["keys", "init"], env)
    wrong = run(
        ["tenants", "list"], {**env, "TESSERA_KEYRING_PASSPHRASE": "not-it-at-all"}, check=False
    )
    one_line_error(wrong, "wrong passphrase")
    hsm = {**env, "TESSERA_KEY_PROVIDER": "pkcs11", "TESSERA_PKCS11_MODULE": "/nonexistent.so"}
    one_line_error(run(["tenants", "list"], hsm, check=False), "TESSERA_PKCS11_PIN")
    hsm["TESSERA_PKCS11_PIN"] = "1234"
    one_line_error(run(["tenants", "list"], hsm, check=False), "cannot load PKCS#11 module")
