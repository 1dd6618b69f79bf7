"""Live conversations from a broker, redacted with the in-process stream's semantics, whatever
the broker: each message is one utterance of a conversation, each released turn one output,
and an input is acknowledged only once every turn it carried has been published.

Broker-neutral on purpose: NATS JetStream (`_nats.py`) is one adapter; a Kafka one would give
the same `Inbound`s (its topic partition and offset for the sequence) and do the same with the
`Outcome` (see docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from tessera.trust._errors import RedactionError
from tessera.trust.redaction import (
    LANGUAGES,
    RedactionMode,
    RedactionStream,
    Redactor,
    Released,
    Turn,
)
from tessera.vault import VaultError, check_tenant

__all__ = [
    "MAX_MESSAGE_BYTES",
    "Conversations",
    "Inbound",
    "Outbound",
    "Outcome",
]

MAX_MESSAGE_BYTES = 64 * 1024  # one utterance; a longer one goes to the dead letters
_CONVERSATION = re.compile(r"[A-Za-z0-9_\-]{1,64}")


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message as the broker delivered it. `seq` is the broker's own, stable across
    redeliveries (JetStream's stream sequence, Kafka's offset): it names the turn's output,
    so a redelivered turn is published under the same id and the broker drops the copy."""

    tenant: str
    conversation: str
    seq: int
    data: bytes
    handle: Hashable  # what the adapter acknowledges


@dataclass(frozen=True, slots=True)
class Outbound:
    kind: str  # "redacted", "closed" or "dead"
    tenant: str
    conversation: str
    msg_id: str  # the broker's de-duplication id
    payload: bytes
    reason: str = ""


@dataclass
class Outcome:
    """What to publish, then what to acknowledge, in that order."""

    publish: list[Outbound] = field(default_factory=list)
    ack: list[Hashable] = field(default_factory=list)

    def extend(self, other: Outcome) -> None:
        self.publish += other.publish
        self.ack += other.ack


@dataclass
class _Conversation:
    stream: RedactionStream
    pending: dict[int, Inbound] = field(default_factory=dict)  # the stream's seq → its input
    last: float = 0.0


class Conversations:
    """The conversations in flight on one consumer."""

    def __init__(
        self,
        redactor: Redactor,
        *,
        language: str = "fr",
        mode: RedactionMode = RedactionMode.TAG,
        hold_seconds: float = 2.0,
        idle_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if language not in LANGUAGES:
            raise RedactionError(f"language: one of {', '.join(LANGUAGES)}")
        if mode is RedactionMode.TOKEN:
            raise RedactionError("token mode needs a tenant's vault: use the API")
        self.redactor = redactor
        self.language = language
        self.mode = mode
        self.hold_seconds = hold_seconds
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._open: dict[tuple[str, str], _Conversation] = {}

    @property
    def open(self) -> int:
        return len(self._open)

    def handle(self, message: Inbound) -> Outcome:
        """One message: its turn fed (what it releases published), a close, or a dead letter
        with its reason. Never raises for what a message says."""
        key = (message.tenant, message.conversation)
        conversation = self._open.get(key)
        if conversation is not None and any(
            held.seq == message.seq for held in conversation.pending.values()
        ):
            return Outcome()  # redelivered while its turn is still held: acknowledged with it
        try:
            body = _parsed(message)
        except RedactionError as exc:
            return self._dead(message, str(exc))
        if body.get("event") == "close":
            outcome = self._close(key) if conversation is not None else Outcome()
            closed = Outbound("closed", *key, f"{key[0]}.{key[1]}.close",
                              json.dumps({"event": "close"}).encode())  # fmt: skip
            outcome.publish.append(closed)
            outcome.ack.append(message.handle)
            return outcome
        try:
            turn = _turn(body)
            if conversation is None:
                stream = self.redactor.stream(
                    language=self.language, default=self.mode, clock=self.clock
                )
                conversation = _Conversation(stream)
            seq = conversation.stream.fed
            released = conversation.stream.feed(turn)
        except RedactionError as exc:
            return self._dead(message, str(exc))
        self._open[key] = conversation
        conversation.pending[seq] = message
        conversation.last = self.clock()
        return self._released(key, conversation, released)

    def due(self) -> Outcome:
        """Turns held past `hold_seconds` released; conversations idle past `idle_seconds`
        closed (as the WebSocket stream does)."""
        outcome = Outcome()
        now = self.clock()
        for key, conversation in list(self._open.items()):
            if now - conversation.last >= self.idle_seconds:
                outcome.extend(self._close(key))
            else:
                released = conversation.stream.due(self.hold_seconds)
                outcome.extend(self._released(key, conversation, released))
        return outcome

    def _close(self, key: tuple[str, str]) -> Outcome:
        conversation = self._open.pop(key)
        return self._released(key, conversation, conversation.stream.close())

    def _released(
        self, key: tuple[str, str], conversation: _Conversation, released: list[Released]
    ) -> Outcome:
        outcome = Outcome()
        for r in released:
            message = conversation.pending.pop(r.seq)
            findings = [
                {"start": f.start, "end": f.end, "entity": f.entity, "score": f.score,
                 "recognizer": f.recognizer, "reason": f.reason}
                for f in r.redacted.findings
            ]  # fmt: skip
            payload = {
                "seq": message.seq,
                "speaker": r.speaker,
                "text": r.redacted.text,
                "language": r.redacted.language,
                "findings": findings,
            }
            outcome.publish.append(
                Outbound("redacted", *key, f"{key[0]}.{key[1]}.{message.seq}",
                         json.dumps(payload, ensure_ascii=False).encode())
            )  # fmt: skip
            outcome.ack.append(message.handle)
        return outcome

    def _dead(self, message: Inbound, reason: str) -> Outcome:
        letter = {"seq": message.seq, "reason": reason}
        return Outcome(
            publish=[
                Outbound(
                    "dead",
                    message.tenant,
                    message.conversation,
                    f"{message.tenant}.{message.conversation}.{message.seq}.dead",
                    json.dumps(letter).encode(),
                    reason,
                )
            ],
            ack=[message.handle],
        )


def _parsed(message: Inbound) -> dict[str, object]:
    try:
        check_tenant(message.tenant)
    except VaultError:
        raise RedactionError("the subject names no tenant") from None
    if not _CONVERSATION.fullmatch(message.conversation):
        raise RedactionError("the subject names no conversation")
    if len(message.data) > MAX_MESSAGE_BYTES:
        raise RedactionError(f"a message is at most {MAX_MESSAGE_BYTES} bytes")
    try:
        body = json.loads(message.data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RedactionError("not a JSON object") from None
    if not isinstance(body, dict):
        raise RedactionError("not a JSON object")
    return body


def _turn(body: dict[str, object]) -> Turn:
    if "payment" in body:
        raise RedactionError(
            "a payment's keypad window needs the tenant's payments: send this conversation "
            "to the WebSocket stream (/v1/redact/stream)"
        )
    speaker, text, language = body.get("speaker"), body.get("text"), body.get("language")
    if not isinstance(speaker, str) or not speaker.strip() or len(speaker) > 64:
        raise RedactionError("speaker: a name of 1 to 64 characters")
    if not isinstance(text, str):
        raise RedactionError("text: a string")
    if language is not None and language not in LANGUAGES:
        raise RedactionError(f"language: one of {', '.join(LANGUAGES)}")
    at = body.get("at")
    when = None
    if at is not None:
        try:
            when = dt.datetime.fromisoformat(str(at))
        except ValueError:
            raise RedactionError("at: an ISO 8601 time") from None
    return Turn(speaker, text, language if isinstance(language, str) else None, when)
