"""The NATS JetStream adapter: a durable pull consumer on `tessera.transcripts.<tenant>.
<conversation>`, the redacted turns published to `tessera.redacted.<tenant>.<conversation>`
with a `Nats-Msg-Id` (the stream drops a copy within its duplicate window), the malformed
messages to `tessera.deadletter.<tenant>.<conversation>` with their reason, and each input
acknowledged only after what it released is stored. At least once in, exactly once visible out:
a consumer killed mid-conversation leaves its held turns unacknowledged; they come back to the
next consumer after `ack_wait`, which publishes them again under the same ids."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tessera.trust._errors import BrokerUnavailable

from ._conversations import Conversations, Inbound, Outcome

__all__ = [
    "DEAD_LETTERS",
    "REDACTED",
    "TRANSCRIPTS",
    "BrokerUnavailable",
    "ConsumerCounts",
    "consume",
    "ensure_streams",
]

TRANSCRIPTS = ("TESSERA_TRANSCRIPTS", "tessera.transcripts")
REDACTED = ("TESSERA_REDACTED", "tessera.redacted")
DEAD_LETTERS = ("TESSERA_DEADLETTER", "tessera.deadletter")
_DUPLICATE_WINDOW = 15 * 60.0  # seconds: longer than a consumer's restart and one ack_wait


@dataclass
class ConsumerCounts:
    received: int = 0
    published: int = 0
    dead: int = 0
    acked: int = 0


async def ensure_streams(js: Any) -> None:
    """The three streams, created when missing (an operator may have made them with other
    limits: those are kept)."""
    from nats.js.errors import NotFoundError

    for name, prefix in (TRANSCRIPTS, REDACTED, DEAD_LETTERS):
        try:
            await js.stream_info(name)
        except NotFoundError:
            await js.add_stream(
                name=name, subjects=[f"{prefix}.>"], duplicate_window=_DUPLICATE_WINDOW
            )


async def consume(
    url: str,
    conversations: Conversations,
    *,
    tenant: str | None = None,
    durable: str | None = None,
    ack_wait: float = 30.0,
    batch: int = 64,
    stop: asyncio.Event | None = None,
    on_progress: Callable[[ConsumerCounts, int], None] | None = None,
) -> ConsumerCounts:
    """Consume until `stop` is set. Held turns are left unacknowledged when it stops: the
    next consumer on the same durable gets them again."""
    import nats
    from nats.errors import NoServersError
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import AckPolicy, ConsumerConfig

    stop = stop or asyncio.Event()
    try:
        # The client keeps trying a refused server on its own: bounded here.
        nc = await asyncio.wait_for(
            nats.connect(url, connect_timeout=3, allow_reconnect=False, error_cb=_quiet),
            timeout=5,
        )
    except (NoServersError, OSError, NatsTimeout, TimeoutError):
        raise BrokerUnavailable(f"NATS at {_host(url)} is not reachable") from None
    counts = ConsumerCounts()
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        subject = f"{TRANSCRIPTS[1]}.{tenant or '*'}.*"
        name = durable or (f"tessera-redact-{tenant}" if tenant else "tessera-redact")
        sub = await js.pull_subscribe(
            subject,
            durable=name,
            stream=TRANSCRIPTS[0],
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT, ack_wait=ack_wait, max_ack_pending=10_000
            ),
        )
        while not stop.is_set():
            try:
                messages = await sub.fetch(batch, timeout=0.25)
            except (NatsTimeout, TimeoutError):
                # nats-py raises its own timeout, or asyncio's when its wait for the rest of
                # a batch runs out: either way, nothing more for now.
                messages = []
            for message in messages:
                counts.received += 1
                await _apply(js, conversations.handle(_inbound(message)), counts)
            await _apply(js, conversations.due(), counts)
            if on_progress is not None:
                on_progress(counts, conversations.open)
    finally:
        with contextlib.suppress(Exception):
            await nc.close()
    return counts


async def _quiet(exc: Exception) -> None:
    """The client's errors are raised to the caller, not logged with the server's address."""


def _inbound(message: Any) -> Inbound:
    parts = message.subject.split(".")
    tenant, conversation = (parts[2], parts[3]) if len(parts) == 4 else ("", "")
    return Inbound(tenant, conversation, message.metadata.sequence.stream, message.data, message)


async def _apply(js: Any, outcome: Outcome, counts: ConsumerCounts) -> None:
    """Publish (waiting for the stream to store each), then acknowledge."""
    for out in outcome.publish:
        prefix = {"redacted": REDACTED[1], "closed": REDACTED[1], "dead": DEAD_LETTERS[1]}[out.kind]
        headers = {"Nats-Msg-Id": out.msg_id}
        if out.reason:
            headers["Tessera-Reason"] = out.reason
        tenant = out.tenant or "_"
        conversation = out.conversation or "_"
        await js.publish(f"{prefix}.{tenant}.{conversation}", out.payload, headers=headers)
        if out.kind == "dead":
            counts.dead += 1
        else:
            counts.published += 1
    for handle in outcome.ack:
        await handle.ack_sync()
        counts.acked += 1


def _host(url: str) -> str:
    """The server's host and port, never its credentials."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname or '?'}:{parts.port or 4222}"
