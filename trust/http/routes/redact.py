"""`/v1/redact`: a text or a conversation redacted before it is stored, shown to a bot or an AI
model, or sent to analytics.

The answer holds the redacted text and, per finding, its span in the text sent, its type, score
and the recognizer that decided, so a reviewer can see why; never the value found.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, WebSocket
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    TypeAdapter,
    ValidationError,
)
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from tessera import TesseraError
from tessera.trust.http._dependencies import CallerDep, ServicesDep, Strict, caller_of
from tessera.trust.http._problems import problem_for, validation_errors
from tessera.trust.identity import Caller, Scope
from tessera.trust.redaction import (
    MAX_PAYMENTS,
    MAX_TEXT_CHARS,
    Finding,
    PaymentWindows,
    Reading,
    Redacted,
    RedactionMode,
    RedactionStream,
    Released,
    Turn,
)

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "language": "fr",
                    "text": "Bonjour, je suis Jean Dupont, ma carte est 4970 1012 3456 7893.",
                },
                {
                    "language": "en",
                    "default_mode": "token",
                    "text": "My email is jane.doe@example.com and my number 07700 900123.",
                },
            ]
        }
    )

    text: StrictStr = Field(max_length=MAX_TEXT_CHARS)
    reading: Annotated[Reading, Field(strict=False)] = Field(
        default=Reading.TEXT,
        description="text: one free text; conversation: `Speaker: text` lines (a time or a "
        "SPEAKER_00 label before them allowed), each speaker's turns read together; auto: "
        "a conversation when most lines, the first included, name a speaker",
    )


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


def _allowed(body: _Options, who: Caller) -> None:
    who.require(Scope.REDACT)
    uses_tokens = body.default_mode is RedactionMode.TOKEN or RedactionMode.TOKEN in set(
        body.modes.values()
    )
    if uses_tokens:
        who.require(Scope.TOKENIZE)


@router.post("", response_model=RedactedOut)
def redact_text(body: TextIn, who: CallerDep, services: ServicesDep) -> RedactedOut:
    """Redact one text (a message, an utterance, a summary, a plain-text transcript)."""
    _allowed(body, who)
    return _out(
        services.redactions.text(
            who.tenant,
            body.text,
            language=body.language,
            modes=body.modes,
            default=body.default_mode,
            subject=body.subject,
            by=who,
            reading=body.reading,
        )
    )


@router.post("/conversation", response_model=ConversationOut)
def redact_conversation(
    body: ConversationIn, who: CallerDep, services: ServicesDep
) -> ConversationOut:
    """Redact a conversation, turn by turn: a number a speaker dictates over several turns is found
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
        by=who,
    )
    return ConversationOut(turns=[_out(r) for r in done])


# ---------------------------------------------------------------------- the stream (WebSocket)
class StreamOpen(_Options):
    """The first message of a stream: how to redact it."""

    type: Literal["open"]
    payments: list[Annotated[StrictStr, Field(max_length=40)]] = Field(
        default_factory=list, max_length=MAX_PAYMENTS
    )
    hold_seconds: Annotated[float, Field(strict=False)] = Field(default=2.0, ge=0.05, le=30)
    idle_seconds: Annotated[float, Field(strict=False)] = Field(default=300.0, ge=1, le=3600)


class StreamTurn(TurnIn):
    type: Literal["turn"]


class StreamPayment(Strict):
    """A payment taken in this conversation, once it exists: its keypad window applies."""

    type: Literal["payment"]
    payment: StrictStr = Field(max_length=40)


class StreamClose(Strict):
    type: Literal["close"]


_MESSAGE: TypeAdapter[StreamTurn | StreamPayment | StreamClose] = TypeAdapter(
    Annotated[StreamTurn | StreamPayment | StreamClose, Field(discriminator="type")]
)
_MAX_FRAME = 4 * MAX_TEXT_CHARS + 4_096  # a turn at its limit, escaped, and its fields


@router.websocket("/stream")
async def redact_stream(websocket: WebSocket) -> None:
    """A conversation utterance by utterance: send `open`, then `turn`s (and `payment` when one
    is taken), then `close`; each turn comes back `released` as soon as it is decided. Only a
    turn ending with what may run on (a number, a spelled e-mail, a word naming a value) is
    held, until its speaker's next turn or `hold_seconds` of their silence. Bad messages get a
    `problem` and change nothing; `idle_seconds` without a message releases all and closes."""
    try:
        who = caller_of(websocket)
    except TesseraError:
        await websocket.close(code=1008, reason="authentication required")
        return
    services = getattr(websocket.state, "services", None) or websocket.app.state.services
    await websocket.accept()
    try:
        opening = StreamOpen.model_validate_json(
            await asyncio.wait_for(_text(websocket), timeout=30)
        )
        _allowed(opening, who)
        windows = await run_in_threadpool(
            services.redactions.payment_windows, who.tenant, opening.payments
        )
        stream: RedactionStream = await run_in_threadpool(
            lambda: services.redactions.stream(
                who.tenant,
                language=opening.language,
                modes=opening.modes,
                default=opening.default_mode,
                subject=opening.subject,
                windows=windows,
                by=who,
            )
        )
    except (TesseraError, ValidationError, ValueError) as exc:
        await _send_problem(websocket, exc)
        await websocket.close(code=1008)
        return
    except (TimeoutError, WebSocketDisconnect):
        await _quietly_close(websocket)
        return
    stream_id = f"rs_{secrets.token_urlsafe(9)}"
    await websocket.send_json(
        {
            "type": "opened",
            "stream": stream_id,
            "hold_seconds": opening.hold_seconds,
            "idle_seconds": opening.idle_seconds,
        }
    )
    await _serve(websocket, stream, windows, opening.hold_seconds, opening.idle_seconds)


async def _serve(
    websocket: WebSocket,
    stream: RedactionStream,
    windows: PaymentWindows,
    hold: float,
    idle: float,
) -> None:
    loop = asyncio.get_running_loop()
    heard_at = loop.time()
    fed = 0
    while True:
        due = stream.next_due(hold)
        left = heard_at + idle - loop.time()
        wait = left if due is None else min(left, due)
        try:
            raw = await asyncio.wait_for(_text(websocket), timeout=max(0.0, wait))
        except TimeoutError:
            if loop.time() - heard_at >= idle:
                await _release(websocket, await run_in_threadpool(stream.close))
                await websocket.send_json({"type": "closed", "turns": fed, "reason": "idle"})
                await websocket.close(code=1000)
                return
            await _release(websocket, await run_in_threadpool(stream.due, hold))
            continue
        except WebSocketDisconnect:
            return  # what was held goes nowhere: nothing is stored
        except ValueError as exc:  # a binary or oversized frame
            await _send_problem(websocket, exc)
            continue
        heard_at = loop.time()
        try:
            message = _MESSAGE.validate_json(raw)
            if isinstance(message, StreamClose):
                await _release(websocket, await run_in_threadpool(stream.close))
                await websocket.send_json({"type": "closed", "turns": fed, "reason": "client"})
                await websocket.close(code=1000)
                return
            if isinstance(message, StreamPayment):
                await run_in_threadpool(windows.follow, message.payment)
                await websocket.send_json({"type": "following", "payment": message.payment})
                continue
            turn = Turn(message.speaker, message.text, message.language, message.at)
            released = await run_in_threadpool(stream.feed, turn)
            fed += 1
            await _release(websocket, released)
        except (TesseraError, ValidationError) as exc:
            await _send_problem(websocket, exc)


async def _text(websocket: WebSocket) -> str:
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if text is None:
        raise ValueError("send JSON in text frames")
    if len(text) > _MAX_FRAME:
        raise ValueError(f"a message is at most {_MAX_FRAME} characters")
    return str(text)


async def _release(websocket: WebSocket, released: list[Released]) -> None:
    for r in released:
        await websocket.send_json(
            {
                "type": "released",
                "seq": r.seq,
                "speaker": r.speaker,
                **_out(r.redacted).model_dump(),
            }
        )


async def _send_problem(websocket: WebSocket, exc: BaseException) -> None:
    if isinstance(exc, ValidationError):
        status, slug, detail = 422, "validation-error", validation_errors(exc.errors())[0]
    elif isinstance(exc, TesseraError):
        found = problem_for(exc)
        status, slug, detail = found.status, found.slug, exc.detail
    else:
        status, slug, detail = 422, "invalid-message", str(exc)
    await websocket.send_json(
        {"type": "problem", "status": status, "problem": slug, "detail": detail}
    )


async def _quietly_close(websocket: WebSocket) -> None:
    with contextlib.suppress(RuntimeError):  # already gone
        await websocket.close(code=1000)
