"""`/v1/redact`: a text or a conversation redacted before it is stored, shown to a bot or an AI
model, or sent to analytics.

The answer holds the redacted text and, per finding, its span in the text sent, its type, score
and the recognizer that decided, so a reviewer can see why; never the value found.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field, StrictStr

from ._http import CallerDep, ServicesDep, Strict
from ._identity import Scope
from ._redactor import MAX_PAYMENTS, MAX_TEXT_CHARS, Finding, Redacted, RedactionMode, Turn

__all__ = ["router"]

router = APIRouter(prefix="/v1/redact", tags=["redaction"])

_ENTITY = Annotated[str, Field(max_length=32, pattern=r"^[A-Z_]{2,32}$")]
_MODE = Annotated[RedactionMode, Field(strict=False)]  # from its JSON string


class _Options(Strict):
    language: StrictStr = Field(default="fr", max_length=16, description="fr or en")
    default_mode: _MODE = Field(
        default=RedactionMode.TAG, description="mask (•••), tag (<CARD>) or token (a vault token)"
    )
    modes: dict[_ENTITY, _MODE] = Field(
        default_factory=dict, max_length=32, description='per type, e.g. {"CARD": "mask"}'
    )
    subject: StrictStr | None = Field(
        default=None,
        max_length=128,
        description="the conversation's customer: their own vaulted values are found too, "
        "and tokens (token mode) belong to them",
    )


class TextIn(_Options):
    text: StrictStr = Field(max_length=MAX_TEXT_CHARS)


class TurnIn(Strict):
    speaker: StrictStr = Field(max_length=64)
    text: StrictStr = Field(max_length=MAX_TEXT_CHARS)
    language: StrictStr | None = Field(default=None, max_length=16)
    at: Annotated[AwareDatetime | None, Field(strict=False)] = Field(
        default=None, description="when it was said (ISO 8601 with its offset)"
    )


class ConversationIn(_Options):
    turns: list[TurnIn] = Field(min_length=1, max_length=2000)
    payments: list[Annotated[StrictStr, Field(max_length=40)]] = Field(
        default_factory=list,
        max_length=MAX_PAYMENTS,
        description="phone payments taken in this conversation: whatever number is said while "
        "their keypad is open is masked as a card (each turn then needs `at`)",
    )


class FindingOut(BaseModel):
    start: int
    end: int
    entity: str
    score: float
    recognizer: str
    reason: str


class RedactedOut(BaseModel):
    text: str
    language: str
    findings: list[FindingOut]


class ConversationOut(BaseModel):
    turns: list[RedactedOut]


def _finding(f: Finding) -> FindingOut:
    return FindingOut(
        start=f.start,
        end=f.end,
        entity=f.entity,
        score=f.score,
        recognizer=f.recognizer,
        reason=f.reason,
    )


def _out(r: Redacted) -> RedactedOut:
    return RedactedOut(text=r.text, language=r.language, findings=[_finding(f) for f in r.findings])


def _allowed(body: _Options, who: CallerDep) -> None:
    who.require(Scope.REDACT)
    uses_tokens = body.default_mode is RedactionMode.TOKEN or RedactionMode.TOKEN in set(
        body.modes.values()
    )
    if uses_tokens:
        who.require(Scope.TOKENIZE)


@router.post("", response_model=RedactedOut)
def redact_text(body: TextIn, who: CallerDep, services: ServicesDep) -> RedactedOut:
    """One text (a message, an utterance, a summary)."""
    _allowed(body, who)
    return _out(
        services.redactions.text(
            who.tenant,
            body.text,
            language=body.language,
            modes=body.modes,
            default=body.default_mode,
            subject=body.subject,
        )
    )


@router.post("/conversation", response_model=ConversationOut)
def redact_conversation(
    body: ConversationIn, who: CallerDep, services: ServicesDep
) -> ConversationOut:
    """A conversation, turn by turn: a number a speaker dictates over several turns is found
    as one, whatever the other party says in between."""
    _allowed(body, who)
    done = services.redactions.conversation(
        who.tenant,
        [Turn(t.speaker, t.text, t.language, t.at) for t in body.turns],
        language=body.language,
        modes=body.modes,
        default=body.default_mode,
        subject=body.subject,
        payments=body.payments,
    )
    return ConversationOut(turns=[_out(r) for r in done])
