"""Re-identification of an AI summary written from a tokenized transcript: each token becomes
what the caller's policies allow (clear, masked, or the token), every replacement is a recorded
gateway access, and tokens the tenant does not hold stay as they are."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tessera.consent import UnknownPurpose, load_catalogue_file
from tessera.policies import Assurance
from tessera.trust import AuthContext, Scope, Services
from tessera.trust.gateway import MAX_REIDENTIFY_TOKENS, Form
from tessera.vault import InvalidValue
from tests.consent.conftest import EXAMPLE
from tests.trust.http.test_api import problem

S = "cust-summary"
UNKNOWN = "tok_" + "0" * 32


@pytest.fixture
def summary(services: Services, tenant: str, other_tenant: str):
    """A summary a bot wrote from a tokenized call: a card token, an e-mail token, an unknown
    token, and another tenant's token."""
    for t in (tenant, other_tenant):
        services.identity.create_tenant(t)
        services.catalogue.load(t, load_catalogue_file(EXAMPLE))
    v = services.vault
    card = v.tokenize(tenant, "4970101234567893", category="card_pan", subject=S).token
    email = v.tokenize(tenant, "jean.dupont@example.fr", category="email", subject=S).token
    foreign = v.tokenize(other_tenant, "ann@example.com", category="email", subject=S).token
    text = (
        f"The customer ({email}) asked to replace the card {card}, lost on Friday. "
        f"Confirmation sent to {email}. Reference {UNKNOWN}; see also {foreign}."
    )

    def caller(kind: str):
        issued = services.identity.issue_key(
            tenant, scopes=[Scope.ACCESS, Scope.AUTH_ASSERT], kind=kind
        )
        return services.identity.authenticate(issued.secret)

    return text, card, email, foreign, caller


def _forms(done) -> dict[str, Form]:
    return {r.token: r.form for r in done.replacements}


def test_an_agent_sees_the_email_masked_and_the_card_stays_a_token(
    services: Services, tenant: str, summary
) -> None:
    text, card, email, foreign, caller = summary
    agent = caller("agent")
    done = services.gateway.reidentify(
        agent, text, purpose="customer_service", channel="chat", auth=AuthContext(Assurance.LOW)
    )
    assert _forms(done) == {
        email: Form.MASKED,
        card: Form.TOKEN,
        UNKNOWN: Form.TOKEN,
        foreign: Form.TOKEN,
    }
    assert "j•••@example.fr" in done.text and email not in done.text
    assert done.text.count("j•••@example.fr") == 2
    assert card in done.text and UNKNOWN in done.text and foreign in done.text
    assert "jean.dupont" not in done.text and "4970101234567893" not in done.text
    by = {r.token: r for r in done.replacements}
    assert by[email].occurrences == 2 and by[email].category == "email"
    assert by[card].category == "card_pan"
    assert (by[UNKNOWN].category, by[UNKNOWN].audit_seqs) == (None, ())
    assert (by[foreign].category, by[foreign].audit_seqs) == (None, ())
    # Every decision taken is in the audit trail, refusals included; nothing of the unknown or
    # the other tenant's token.
    log = services.audit.for_subject(tenant, S)
    recorded = [(e["action"], e["tokens"], e["outcome"]) for e in log]
    assert ("detokenize", [email], "deny") in recorded
    assert ("read_masked", [email], "allow") in recorded
    assert ("read_masked", [card], "deny") in recorded
    assert all(UNKNOWN not in e["tokens"] and foreign not in e["tokens"] for e in log)
    assert all(seq in {e["seq"] for e in log} for r in done.replacements for seq in r.audit_seqs)


def test_an_expert_after_step_up_sees_the_email_in_clear_and_the_card_masked(
    services: Services, summary
) -> None:
    text, card, email, _, caller = summary
    expert = caller("expert")
    before = services.gateway.reidentify(
        expert, text, purpose="customer_service", channel="chat", auth=AuthContext(Assurance.LOW)
    )
    by = {r.token: r for r in before.replacements}
    assert (by[email].form, by[email].required_assurance) == (Form.MASKED, Assurance.SUBSTANTIAL)
    after = services.gateway.reidentify(
        expert,
        text,
        purpose="customer_service",
        channel="chat",
        auth=AuthContext(Assurance.SUBSTANTIAL),
    )
    assert _forms(after)[email] is Form.CLEAR and _forms(after)[card] is Form.MASKED
    assert after.text.count("jean.dupont@example.fr") == 2
    assert "•••• 7893" in after.text and "4970101234567893" not in after.text
    # Card numbers are never clear outside payments, whatever the assurance.
    assert {r.token: r for r in after.replacements}[card].policy_ids == ("expert-masked",)


def test_a_bot_gets_masked_contact_data_only(services: Services, summary) -> None:
    text, card, email, _, caller = summary
    done = services.gateway.reidentify(
        caller("bot"), text, purpose="customer_service", channel="chat", most="masked"
    )
    assert _forms(done)[email] is Form.MASKED and _forms(done)[card] is Form.TOKEN
    assert all(r.form is not Form.CLEAR for r in done.replacements)


def test_the_purpose_still_limits(services: Services, summary) -> None:
    text, _, email, _, caller = summary
    done = services.gateway.reidentify(
        caller("expert"),
        text,
        purpose="marketing_sms",
        channel="sms",
        auth=AuthContext(Assurance.HIGH),
    )
    assert done.text == text
    assert all(r.form is Form.TOKEN for r in done.replacements)
    assert {r.token: r for r in done.replacements}[email].reason.startswith("purpose limitation")


def test_a_card_number_in_clear_is_never_looked_up_and_keeping_tokens_reads_nothing(
    services: Services, tenant: str, summary
) -> None:
    _, _, email, _, caller = summary
    before = len(services.audit.for_subject(tenant, S))
    text = f"card 4970101234567893 and {email}"
    done = services.gateway.reidentify(
        caller("expert"), text, purpose="customer_service", channel="chat", most="token"
    )
    assert done.text == text
    assert [(r.token, r.form, r.category) for r in done.replacements] == [(email, Form.TOKEN, None)]
    assert len(services.audit.for_subject(tenant, S)) == before


def test_bad_input_is_refused_before_any_access(services: Services, summary) -> None:
    _, _, _, _, caller = summary
    bot = caller("bot")
    many = " ".join(f"tok_{i:032x}" for i in range(MAX_REIDENTIFY_TOKENS + 1))
    for text, kw in [
        (many, {}),
        ("x" * 100_001, {}),
        ("hello", {"most": "everything"}),
        (b"tok_", {}),
    ]:
        with pytest.raises(InvalidValue):
            services.gateway.reidentify(
                bot,
                text,  # type: ignore[arg-type]
                purpose="customer_service",
                channel="chat",
                **kw,
            )


def test_over_http(client: TestClient, issue, services: Services, tenant: str) -> None:
    headers = issue(tenant, [Scope.ACCESS, Scope.AUTH_ASSERT], "expert")
    email = services.vault.tokenize(tenant, "ann@example.com", category="email", subject=S).token
    body = {
        "text": f"Call back {email} tomorrow ({UNKNOWN}).",
        "purpose": "customer_service",
        "channel": "voice_agent",
        "auth_context": {"assurance": "substantial"},
    }
    r = client.post("/v1/reidentify", json=body, headers=headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["text"] == f"Call back ann@example.com tomorrow ({UNKNOWN})."
    assert [(x["token"], x["form"]) for x in out["replacements"]] == [
        (email, "clear"),
        (UNKNOWN, "token"),
    ]
    assert out["replacements"][0]["audit_seqs"]
    for bad, slug, status in [
        ({**body, "most": "all"}, "invalid-value", 422),
        ({**body, "text": 12}, "validation-error", 422),
        ({**body, "purpose": "nope"}, "unknown-purpose", 422),
        ({**body, "text": "x" * 100_001}, "validation-error", 422),
    ]:
        problem(client.post("/v1/reidentify", json=bad, headers=headers), status, slug)
    no_scope = issue(tenant, [Scope.REDACT], "bot")
    problem(client.post("/v1/reidentify", json=body, headers=no_scope), 403, "permission-denied")


def test_a_bot_summarizes_a_tokenized_call_and_the_expert_reads_it_back(
    client: TestClient, issue, tenant: str
) -> None:
    """The loop end to end: the transcript reaches the summarizer in token mode, its summary
    comes back through re-identification for the person who reads it."""
    bot = issue(tenant, [Scope.REDACT, Scope.TOKENIZE, Scope.ACCESS], "bot")
    expert = issue(tenant, [Scope.ACCESS, Scope.AUTH_ASSERT], "expert")
    call = {
        "language": "en",
        "default_mode": "token",
        "subject": S,
        "turns": [
            {"speaker": "agent", "text": "What email should we use?"},
            {"speaker": "caller", "text": "It's ann.smith@example.com, thanks."},
        ],
    }
    r = client.post("/v1/redact/conversation", json=call, headers=bot)
    assert r.status_code == 200, r.text
    said = r.json()["turns"][1]["text"]
    assert "ann.smith" not in said
    token = said.split()[1].rstrip(",")
    summary = f"Caller confirmed {token} as contact address."
    ask = {"text": summary, "purpose": "customer_service", "channel": "chat"}
    read = client.post("/v1/reidentify", json={**ask, "most": "masked"}, headers=bot).json()
    assert read["text"] == "Caller confirmed a•••@example.com as contact address."
    stepped = {**ask, "auth_context": {"assurance": "substantial"}}
    clear = client.post("/v1/reidentify", json=stepped, headers=expert).json()
    assert clear["text"] == "Caller confirmed ann.smith@example.com as contact address."


def test_a_text_without_tokens_is_still_checked(services: Services, summary) -> None:
    _, _, _, _, caller = summary
    bot = caller("bot")
    with pytest.raises(InvalidValue):
        services.gateway.reidentify(bot, "nothing here", purpose="customer_service", channel="fax")
    with pytest.raises(UnknownPurpose):
        services.gateway.reidentify(bot, "nothing here", purpose="nope", channel="chat")
