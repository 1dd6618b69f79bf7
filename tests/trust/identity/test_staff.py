"""Staff of the DPO console: sealed accounts, roles as Cedar principals, sign-in through the
auth package at substantial assurance, and oversight decided and recorded by the gateway."""

from __future__ import annotations

import json
import urllib.parse

import pyotp
import pytest
from sqlalchemy import select, text

from tessera import Assurance
from tessera.auth import Observation, RiskDecision
from tessera.policies import Action
from tessera.storage import utcnow
from tessera.trust import AccessDenied, StaffExists, StepUpRequired, UnknownTenant
from tessera.trust._services import Services
from tessera.trust.audit._tables import AuditEntryRow
from tessera.trust.gateway import AuthContext
from tessera.trust.identity import StaffMember, StaffRole
from tessera.vault import InvalidValue


def _seed(uri: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]


def signed_in(services: Services, member: StaffMember, seed: str) -> str:
    """A session of `member` raised to substantial with their authenticator app."""
    auth = services.authenticator
    seen = Observation(channel="web", at=utcnow(), ip="10.1.2.3", user_agent="console-test")
    assessment = auth.assess(member.tenant, member.subject, seen)
    if assessment.decision is RiskDecision.ALLOW:
        assert assessment.session is not None
        session_id = assessment.session.id
        challenge = auth.begin_step_up(
            member.tenant, "totp", session_id=session_id, target=Assurance.SUBSTANTIAL
        )
        auth.complete_step_up(member.tenant, challenge.id, code=pyotp.TOTP(seed).now())
        return session_id
    challenge = auth.begin_step_up(member.tenant, "totp", decision_id=assessment.decision_id)
    issued, _ = auth.complete_step_up(member.tenant, challenge.id, code=pyotp.TOTP(seed).now())
    assert issued is not None
    return issued.id


@pytest.fixture
def staffed(services: Services, tenant: str) -> str:
    services.identity.create_tenant(tenant)
    return tenant


def test_a_member_of_staff_gets_an_active_authenticator_app_and_signs_in_with_it(
    services: Services, staffed: str
) -> None:
    member, enrolment = services.staff.create(staffed, "Alice", "dpo", name="Alice", actor="t")
    assert member.login == "alice" and member.role is StaffRole.DPO and member.active
    assert enrolment.uri.startswith("otpauth://totp/")
    factors = services.authenticator.factors(staffed, member.subject)
    assert [(f.kind, f.status) for f in factors] == [("totp", "active")]
    session_id = signed_in(services, member, _seed(enrolment.uri))
    info = services.authenticator.session(staffed, session_id)
    assert info.subject == member.subject and info.assurance >= Assurance.SUBSTANTIAL
    assert services.staff.find(staffed, "ALICE ") == member
    assert services.staff.of_subject(staffed, member.subject) == member
    events = [e["event"] for e in services.audit.security_events(staffed)]
    assert "staff_created" in events
    assert member.caller.kind == "dpo" and member.caller.key_id == member.subject


def test_bad_staff_input_is_refused_and_creates_nothing(
    services: Services, staffed: str, other_tenant: str
) -> None:
    services.staff.create(staffed, "bob", "analyst", actor="t")
    with pytest.raises(StaffExists):
        services.staff.create(staffed, "bob", "auditor", actor="t")
    with pytest.raises(InvalidValue, match="unknown role"):
        services.staff.create(staffed, "carol", "root", actor="t")
    for login in ("", "x", "a b", "é" * 3, "-lead", "a" * 65):
        with pytest.raises(InvalidValue):
            services.staff.create(staffed, login, "dpo", actor="t")
    with pytest.raises(UnknownTenant):
        services.staff.create(other_tenant, "bob", "dpo", actor="t")
    assert [m.login for m in services.staff.list(staffed)] == ["bob"]
    assert services.staff.find(other_tenant, "bob") is None


def test_a_database_writer_can_neither_add_staff_nor_raise_a_role(
    services: Services, staffed: str
) -> None:
    analyst, _ = services.staff.create(staffed, "dave", "analyst", actor="t")
    with services.data.begin() as conn:
        conn.execute(
            text("UPDATE staff_accounts SET role = 'dpo' WHERE id = :id"), {"id": analyst.id}
        )
        conn.execute(
            text(
                "INSERT INTO staff_accounts (id, tenant_id, login, name, role, status, "
                "created_at, mac) VALUES ('stf_forged', :t, 'mallory', '', 'dpo', 'active', "
                ":now, :mac)"
            ),
            {"t": staffed, "now": utcnow(), "mac": "0" * 64},
        )
    assert services.staff.find(staffed, "dave") is None
    assert services.staff.find(staffed, "mallory") is None
    assert services.staff.of_subject(staffed, "staff:stf_forged") is None
    assert services.staff.list(staffed) == []


def test_a_disabled_member_of_staff_signs_in_no_more(services: Services, staffed: str) -> None:
    member, _ = services.staff.create(staffed, "erin", "auditor", actor="t")
    services.staff.disable(staffed, member.id, actor="t")
    assert services.staff.find(staffed, "erin") is None
    assert services.staff.of_subject(staffed, member.subject) is None
    assert not services.staff.get(staffed, member.id).active
    assert "staff_disabled" in [e["event"] for e in services.audit.security_events(staffed)]


def _entries(services: Services, tenant: str, kind: str) -> list[dict[str, object]]:
    table = AuditEntryRow.__table__  # type: ignore[attr-defined]
    with services.data.read() as conn:
        rows = conn.execute(
            select(table.c.body, table.c.caller_kind, table.c.action, table.c.outcome)
            .where(table.c.tenant_id == tenant, table.c.kind == kind)
            .order_by(table.c.seq)
        ).all()
    return [{**json.loads(r.body), "_columns": (r.caller_kind, r.action, r.outcome)} for r in rows]


def test_oversight_is_decided_by_role_and_recorded_either_way(
    services: Services, staffed: str
) -> None:
    people = {}
    for role in StaffRole:
        member, enrolment = services.staff.create(staffed, f"{role.value}-1", role, actor="t")
        people[role] = (member, signed_in(services, member, _seed(enrolment.uri)))

    def oversee(role: StaffRole, action: Action, overseen: str) -> None:
        member, session_id = people[role]
        services.gateway.oversee(
            member.caller,
            action,
            overseen,
            auth=AuthContext(session_id=session_id),
            facts={"purpose": "marketing"},
        )

    oversee(StaffRole.ANALYST, Action.SEARCH_LOGS, "log:consent")
    oversee(StaffRole.DPO, Action.SEARCH_LOGS, "log:access")
    oversee(StaffRole.AUDITOR, Action.VERIFY_LOGS, "log:access")
    oversee(StaffRole.AUDITOR, Action.READ_RECORD, "record:processing")
    with pytest.raises(AccessDenied):
        oversee(StaffRole.ANALYST, Action.EXPORT_LOGS, "log:consent")
    with pytest.raises(AccessDenied):
        oversee(StaffRole.AUDITOR, Action.SEARCH_LOGS, "log:consent")
    with pytest.raises(StepUpRequired) as stepped:
        oversee(StaffRole.DPO, Action.EXPORT_LOGS, "log:consent")  # TOTP: substantial only
    assert stepped.value.required_assurance == "high"

    entries = _entries(services, staffed, "oversight")
    assert [(e["caller_kind"], e["action"], e["outcome"]) for e in entries] == [
        ("analyst", "search_logs", "allow"),
        ("dpo", "search_logs", "allow"),
        ("auditor", "verify_logs", "allow"),
        ("auditor", "read_record", "allow"),
        ("analyst", "export_logs", "deny"),
        ("auditor", "search_logs", "deny"),
        ("dpo", "export_logs", "step_up"),
    ]
    for entry in entries:
        assert entry["_columns"] == (entry["caller_kind"], entry["action"], entry["outcome"])
        assert entry["asked"] == {"purpose": "marketing"}
        assert entry["assurance"] == "substantial"
    assert services.audit.verify(staffed)["entries"] >= len(entries)


def test_a_staff_session_is_not_an_end_users_and_lends_nothing_to_another_caller(
    services: Services, staffed: str
) -> None:
    dpo, enrolment = services.staff.create(staffed, "frank", "dpo", actor="t")
    analyst, _ = services.staff.create(staffed, "grace", "analyst", actor="t")
    session_id = signed_in(services, dpo, _seed(enrolment.uri))
    assurance, end_user = services.gateway.assurance_of(
        dpo.caller, AuthContext(session_id=session_id)
    )
    assert assurance >= Assurance.SUBSTANTIAL and end_user is None
    # Another caller presenting the DPO's session is treated as acting for that subject,
    # which no oversight policy or data of a customer matches.
    _, borrowed = services.gateway.assurance_of(analyst.caller, AuthContext(session_id=session_id))
    assert borrowed == dpo.subject


def test_the_cli_creates_lists_and_disables_staff(store_factory, tmp_path) -> None:
    from tests.cli import cli_env, run
    from tests.conftest import PASSPHRASE

    stores = store_factory.make(migrated=False)
    env = cli_env(stores.env, tmp_path, tmp_path / "keyring.json", PASSPHRASE)
    run(["tenants", "create", "staff-bank"], env)
    made = run(
        ["staff", "create", "dana", "--tenant", "staff-bank", "--role", "dpo", "--name", "Dana"],
        env,
    )
    assert made.stdout.startswith("otpauth://totp/") and "secret=" in made.stdout
    assert "secret=" not in made.stderr
    listed = run(["staff", "list", "--tenant", "staff-bank"], env)
    assert "dana" in listed.stdout and "dpo" in listed.stdout
    staff_id = made.stderr.split()[1]
    run(["staff", "disable", staff_id, "--tenant", "staff-bank"], env)
    assert "no" in run(["staff", "list", "--tenant", "staff-bank"], env).stdout
    for bad in (
        ["staff", "create", "eve", "--tenant", "staff-bank", "--role", "root"],
        ["staff", "create", "dana", "--tenant", "staff-bank", "--role", "dpo"],
        ["staff", "create", "eve", "--tenant", "nobody", "--role", "dpo"],
    ):
        done = run(bad, env, check=False)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1
