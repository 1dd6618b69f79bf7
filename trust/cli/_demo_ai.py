"""The demo's AI-in-the-loop step: an English call exported as a plain-text transcript is
redacted in token mode before a summarizer reads it, and the summary it writes is read back
through the gateway by the agent (masked) and by an expert after a step-up (clear)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from tessera.trust._services import Services
from tessera.trust.identity import Scope

from ._demo_kit import client_for, ok
from ._demo_kit import step as heading

__all__ = ["ai_step"]

CALLER = "cust-0003"
# The way a call recorder exports a call: one `[time] Speaker: text` line a turn.
ENGLISH_CALL = """\
[00:00:02] Agent: Thanks for calling Demo Bank, who am I speaking with?
[00:00:05] Caller: Hi, this is Ann Smith, I'm calling on behalf of my mother Rose Smith.
[00:00:11] Agent: Can I get your social security number please?
[00:00:14] Caller: Yeah it's two one nine zero nine one two three four.
[00:00:19] Agent: Thanks. And the card you want to replace?
[00:00:22] Caller: It's 4970 1012
[00:00:24] Agent: Yes
[00:00:25] Caller: 3456 7893. Send the new one to 742 Evergreen Terrace, Springfield, IL 62704.
[00:00:33] Caller: And email me at ann.smith@example.com.
"""


def ai_step(console: Console, services: Services) -> None:
    heading(console, "20. An English call as a plain-text file, tokenized before an AI reads it")
    # The CRM holds the caller's e-mail already: the transcript's e-mail gets the same token.
    email = ok(
        client_for(services, [Scope.TOKENIZE], "service", "crm").post(
            "/v1/tokens",
            json={"value": "ann.smith@example.com", "category": "email", "subject": CALLER},
        )
    )["token"]
    pipeline = client_for(services, [Scope.REDACT, Scope.TOKENIZE], "bot", "summarizer")
    done = ok(
        pipeline.post(
            "/v1/redact",
            json={
                "text": ENGLISH_CALL,
                "reading": "auto",
                "language": "en",
                "default_mode": "token",
                "subject": CALLER,
                "modes": {"SSN": "tag", "CARD": "tag", "ADDRESS": "tag"},
            },
        )
    )
    console.print("[dim]the call, as the summarizer reads it (Speaker: lines read as turns):[/dim]")
    console.print(done["text"].rstrip(), markup=False, highlight=False)
    found = sorted({f["entity"] for f in done["findings"]})
    console.print(f"found: {', '.join(found)}; names and the e-mail became vault tokens")

    heading(console, "21. The AI's summary read back through the gateway (POST /v1/reidentify)")
    if email not in done["text"]:
        raise RuntimeError("the e-mail's token is not in the tokenized call")
    summary = (
        f"Caller asked to replace a lost card and to receive confirmation at {email}. "
        "Identity verified by SSN. New card to be mailed."
    )
    table = Table("reader", "the summary as shown", "what decided")
    readers: list[tuple[str, list[Scope], str, dict[str, Any]]] = [
        ("agent", [Scope.ACCESS], "agent", {}),
        (
            "expert, stepped up",
            [Scope.ACCESS, Scope.AUTH_ASSERT],
            "expert",
            {"auth_context": {"assurance": "substantial"}},
        ),
        ("bot", [Scope.ACCESS], "bot", {"most": "masked"}),
    ]
    for who, scopes, kind, extra in readers:
        reader = client_for(services, scopes, kind, f"summary reader ({who})")
        read = ok(
            reader.post(
                "/v1/reidentify",
                json={
                    "text": summary,
                    "purpose": "customer_service",
                    "channel": "chat",
                    **extra,
                },
            )
        )
        why = "; ".join(
            f"{r['form']} by {', '.join(r['policy_ids']) or 'no policy'}"
            for r in read["replacements"]
        )
        table.add_row(who, read["text"], why)
    console.print(table)
    console.print("each replacement is a gateway access in the audit log, refusals included")
