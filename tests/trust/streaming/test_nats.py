"""Streaming redaction against the real NATS JetStream server on 127.0.0.1:4222 (`.ci/run`
starts it when it is not running): a card split over three messages, a consumer killed with
`kill -9` mid-conversation and restarted, malformed messages to the dead letters, and a
redelivered turn stored once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from tessera.trust import BrokerUnavailable
from tessera.trust.redaction import shared_redactor
from tessera.trust.streaming import (
    DEAD_LETTERS,
    REDACTED,
    TRANSCRIPTS,
    Conversations,
    Inbound,
    consume,
    ensure_streams,
)
from tests.cli import TESSERA

URL = os.environ.get("TESSERA_TEST_NATS_URL", "nats://127.0.0.1:4222")
CARD = "4970 1012 3456 7893"


def _reachable() -> bool:
    host, port = URL.split("//")[1].split(":")
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) == 0


pytestmark = pytest.mark.skipif(
    not _reachable() and not os.environ.get("CI"),
    reason="no NATS server on 127.0.0.1:4222 (.ci/run starts one)",
)


@pytest.fixture
def tenant() -> str:
    """A tenant of this test alone: its subjects and durable are its own."""
    return f"t{uuid.uuid4().hex[:10]}"


async def _publish(subject: str, *bodies: object) -> None:
    import nats

    nc = await nats.connect(URL)
    js = nc.jetstream()
    await ensure_streams(js)
    for body in bodies:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        await js.publish(subject, data)
    await nc.close()


async def _read(prefix: str, tenant: str, conversation: str, want: int, wait: float = 20.0):
    """The messages stored on a subject (an ordered consumer from the start), with headers."""
    import nats

    nc = await nats.connect(URL)
    js = nc.jetstream()
    sub = await js.subscribe(f"{prefix}.{tenant}.{conversation}", ordered_consumer=True)
    got = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            msg = await sub.next_msg(timeout=0.5)
        except nats.errors.TimeoutError:
            if len(got) >= want:
                break
            continue
        got.append((json.loads(msg.data), msg.headers or {}))
    await nc.close()
    return got


async def _consume_until(conversations: Conversations, tenant: str, done) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(consume(URL, conversations, tenant=tenant, ack_wait=5, stop=stop))
    deadline = time.monotonic() + 30
    while not await done() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    stop.set()
    await task


def test_a_card_split_over_three_messages_is_redacted_in_each(tenant: str) -> None:
    conversations = Conversations(shared_redactor(), language="en", hold_seconds=30)
    subject = f"{TRANSCRIPTS[1]}.{tenant}.call1"

    async def scenario():
        await _publish(
            subject,
            {"speaker": "customer", "text": "my card number is 4970 1012"},
            {"speaker": "agent", "text": "yes"},
            {"speaker": "customer", "text": "3456"},
            {"speaker": "agent", "text": "go on"},
            {"speaker": "customer", "text": "7893"},
            {"event": "close"},
        )

        async def closed() -> bool:
            return conversations.open == 0 and bool(
                await _read(REDACTED[1], tenant, "call1", 6, wait=0.6)
            )

        await _consume_until(conversations, tenant, closed)
        return await _read(REDACTED[1], tenant, "call1", 6)

    out = asyncio.run(scenario())
    # Released when decided: the agent's turns go out while the card is held.
    turns = sorted((body for body, _ in out if "text" in body), key=lambda t: t["seq"])
    assert [t["speaker"] for t in turns] == ["customer", "agent", "customer", "agent", "customer"]
    customer = [t["text"] for t in turns if t["speaker"] == "customer"]
    assert customer == ["my card number is <CARD>", "<CARD>", "<CARD>"]
    assert all("4970" not in t["text"] and "7893" not in t["text"] for t in turns)
    assert out[-1][0] == {"event": "close"}
    ids = [headers.get("Nats-Msg-Id") for _, headers in out]
    assert len(set(ids)) == len(ids)


def test_malformed_messages_go_to_the_dead_letters_with_their_reason(tenant: str) -> None:
    conversations = Conversations(shared_redactor(), language="en")
    subject = f"{TRANSCRIPTS[1]}.{tenant}.chat1"

    async def scenario():
        await _publish(
            subject,
            b"not json",
            {"speaker": "", "text": "hello"},
            {"speaker": "customer", "text": 42},
            {"speaker": "customer", "text": "hi", "language": "de"},
            b"x" * (70 * 1024),
            {"speaker": "customer", "text": "call me on (312) 432-5320"},
            {"event": "close"},
        )

        async def closed() -> bool:
            return bool(await _read(REDACTED[1], tenant, "chat1", 2, wait=0.6))

        await _consume_until(conversations, tenant, closed)
        return (
            await _read(DEAD_LETTERS[1], tenant, "chat1", 5),
            await _read(REDACTED[1], tenant, "chat1", 2),
        )

    dead, redacted = asyncio.run(scenario())
    reasons = [headers["Tessera-Reason"] for _, headers in dead]
    assert len(reasons) == 5
    assert "JSON" in reasons[0] and "speaker" in reasons[1] and "text" in reasons[2]
    assert "language" in reasons[3] and "bytes" in reasons[4]
    assert redacted[0][0]["text"] == "call me on <PHONE>"  # the good ones go on


def test_a_redelivered_turn_is_published_under_the_same_id_and_stored_once(
    tenant: str,
) -> None:
    """The consumer died after publishing and before acknowledging: the broker delivers the
    message again, the consumer publishes it again, the stream keeps one."""
    import nats

    message = Inbound(tenant, "c1", 7, json.dumps({"speaker": "a", "text": "hello"}).encode(), 1)

    async def scenario():
        nc = await nats.connect(URL)
        js = nc.jetstream()
        await ensure_streams(js)
        acks = []
        for _ in range(2):  # two consumers' lives, the same message
            outcome = Conversations(shared_redactor(), language="en").handle(message)
            (out,) = outcome.publish
            acks.append(
                await js.publish(
                    f"{REDACTED[1]}.{tenant}.c1", out.payload, headers={"Nats-Msg-Id": out.msg_id}
                )
            )
        await nc.close()
        return acks

    first, second = asyncio.run(scenario())
    assert not first.duplicate and second.duplicate and first.seq == second.seq


def test_an_unreachable_broker_is_one_clear_error() -> None:
    conversations = Conversations(shared_redactor())
    with pytest.raises(BrokerUnavailable, match=r"127\.0\.0\.1:1 ") as raised:
        asyncio.run(consume("nats://user:secret@127.0.0.1:1", conversations))
    assert "secret" not in str(raised.value)


@pytest.fixture
def consumer_env(tmp_path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env["TESSERA_DATA_DIR"] = str(tmp_path)
    env["PYTHONUNBUFFERED"] = "1"
    yield env


def _start(env: dict[str, str], tenant: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [TESSERA, "stream", "redact", "--nats", URL, "--tenant", tenant, "--language", "en",
         "--ack-wait", "2", "--hold-seconds", "60"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("consuming from"):
            return proc
    raise AssertionError(f"the consumer did not start ({proc.wait()})")


@pytest.mark.slow
def test_a_consumer_killed_mid_conversation_loses_nothing_and_duplicates_nothing(
    tenant: str, consumer_env: dict[str, str]
) -> None:
    subject = f"{TRANSCRIPTS[1]}.{tenant}.call9"
    first = _start(consumer_env, tenant)
    try:
        asyncio.run(
            _publish(
                subject,
                {"speaker": "agent", "text": "hello, how can I help"},
                {"speaker": "customer", "text": "my card is 4970 1012"},  # held: it may go on
                {"speaker": "agent", "text": "yes"},
            )
        )
        # The agent's "yes" is out, so the consumer has the customer's turn, held, unacked.
        seen = asyncio.run(_read(REDACTED[1], tenant, "call9", 2))
        assert [b["text"] for b, _ in seen] == ["hello, how can I help", "yes"]
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    second = _start(consumer_env, tenant)
    try:
        time.sleep(3)  # past ack_wait: the held turn is redelivered to the new consumer
        asyncio.run(
            _publish(subject, {"speaker": "customer", "text": "3456 7893"}, {"event": "close"})
        )
        out = asyncio.run(_read(REDACTED[1], tenant, "call9", 5))
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(timeout=30)
    turns = sorted((body for body, _ in out if "text" in body), key=lambda t: t["seq"])
    assert [t["text"] for t in turns] == [
        "hello, how can I help",
        "my card is <CARD>",
        "yes",
        "<CARD>",
    ]
    assert len({t["seq"] for t in turns}) == len(turns) == 4  # each turn once
    assert out[-1][0] == {"event": "close"}
    assert all(CARD[:9] not in t["text"] for t in turns)
