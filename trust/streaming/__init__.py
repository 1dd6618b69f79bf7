"""Streaming redaction from a message broker: live transcripts in, redacted turns out, with the
in-process stream's semantics (a number split over turns is held only as long as needed).

`Conversations` is the broker-neutral core; `consume` runs it on NATS JetStream. nats-py is
imported when a consumer starts, never on import.
"""

from __future__ import annotations

from ._conversations import MAX_MESSAGE_BYTES, Conversations, Inbound, Outbound, Outcome
from ._nats import (
    DEAD_LETTERS,
    REDACTED,
    TRANSCRIPTS,
    BrokerUnavailable,
    ConsumerCounts,
    consume,
    ensure_streams,
)

__all__ = [
    "DEAD_LETTERS",
    "MAX_MESSAGE_BYTES",
    "REDACTED",
    "TRANSCRIPTS",
    "BrokerUnavailable",
    "ConsumerCounts",
    "Conversations",
    "Inbound",
    "Outbound",
    "Outcome",
    "consume",
    "ensure_streams",
]
