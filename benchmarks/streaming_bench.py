"""Streaming redaction through NATS JetStream against the in-process stream, on the same turns.

The French contact-centre set (`redaction/generate_fr.py`, fixed seed), each conversation fed
turn by turn:

- **in process** (the baseline): `Redactor.stream()`, each turn fed as it comes; its latency is
  from feeding a turn to its release (a turn ending with a number waits for its speaker's next
  one, as everywhere);
- **through NATS**: `tessera.trust.streaming.consume` in this process against the server at
  127.0.0.1:4222, the turns published to `tessera.transcripts.<tenant>.<conversation>`, the
  redacted turns read from `tessera.redacted.…`; lag is from the publish's acknowledgement to the
  redacted turn's arrival. Run twice: as fast as the publisher goes (throughput), then paced at
  half the in-process rate (lag of a consumer that keeps up).

Prints utterances/s and p50/p99 latency for each, and their ratios to the in-process stream.

    .venv/bin/python benchmarks/streaming_bench.py [-n 60] [--nats nats://127.0.0.1:4222]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "redaction"))

import generate_fr

from tessera.trust.redaction import Turn, shared_redactor
from tessera.trust.streaming import REDACTED, TRANSCRIPTS, Conversations, consume

HOLD_SECONDS = 0.5


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def in_process(conversations: list[list[Turn]]) -> tuple[float, list[float]]:
    redactor = shared_redactor()
    latencies: list[float] = []
    began = time.perf_counter()
    for turns in conversations:
        stream = redactor.stream(language="fr")
        fed: dict[int, float] = {}
        for turn in turns:
            fed[stream.fed] = time.perf_counter()
            for released in stream.feed(turn):
                latencies.append(time.perf_counter() - fed[released.seq])
        for released in stream.close():
            latencies.append(time.perf_counter() - fed[released.seq])
    elapsed = time.perf_counter() - began
    return sum(map(len, conversations)) / elapsed, latencies


async def through_nats(
    url: str, conversations: list[list[Turn]], rate: float | None
) -> tuple[float, list[float]]:
    import nats

    tenant = f"bench-{secrets.token_hex(4)}"
    total = sum(map(len, conversations))
    sent: dict[int, float] = {}
    lags: list[float] = []
    done = asyncio.Event()
    nc = await nats.connect(url)
    js = nc.jetstream()

    async def arrived(message) -> None:  # type: ignore[no-untyped-def]
        body = json.loads(message.data)
        if "seq" in body:
            lags.append(time.perf_counter() - sent[body["seq"]])
            if len(lags) == total:
                done.set()

    await nc.subscribe(f"{REDACTED[1]}.{tenant}.>", cb=arrived)
    stop = asyncio.Event()
    worker = Conversations(shared_redactor(), language="fr", hold_seconds=HOLD_SECONDS)
    consumer = asyncio.create_task(
        consume(url, worker, tenant=tenant, durable=f"bench-{tenant}", stop=stop)
    )
    await asyncio.sleep(1.0)  # the durable consumer is in place
    began = time.perf_counter()
    published = 0
    for c, turns in enumerate(conversations):
        subject = f"{TRANSCRIPTS[1]}.{tenant}.c{c}"
        for turn in turns:
            if rate is not None:
                await asyncio.sleep(max(0.0, began + published / rate - time.perf_counter()))
            body = json.dumps({"speaker": turn.speaker, "text": turn.text}).encode()
            ack = await js.publish(subject, body)
            sent[ack.seq] = time.perf_counter()
            published += 1
        await js.publish(subject, json.dumps({"event": "close"}).encode())
    await asyncio.wait_for(done.wait(), timeout=300)
    elapsed = time.perf_counter() - began
    stop.set()
    await consumer
    await nc.close()
    return total / elapsed, lags


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=60, help="conversations")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    args = parser.parse_args()
    samples = list(generate_fr.generate(args.n))
    conversations = [[Turn(t["speaker"], t["text"]) for t in s.turns] for s in samples]
    shared_redactor().warm()
    in_process(conversations)  # once, so that both runs are warm
    base_rate, base_lat = in_process(conversations)
    fast_rate, _ = asyncio.run(through_nats(args.nats, conversations, None))
    paced_rate, paced_lat = asyncio.run(through_nats(args.nats, conversations, base_rate / 2))
    print(f"{len(conversations)} conversations, {sum(map(len, conversations))} utterances")
    print(f"{'path':34}{'utt/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    print(
        f"{'in-process stream':34}{base_rate:>10.1f}"
        f"{_p(base_lat, 0.5) * 1000:>10.2f}{_p(base_lat, 0.99) * 1000:>10.2f}"
    )
    print(f"{'NATS, as fast as published':34}{fast_rate:>10.1f}{'':>10}{'':>10}")
    print(
        f"{'NATS, paced at half the baseline':34}{paced_rate:>10.1f}"
        f"{_p(paced_lat, 0.5) * 1000:>10.2f}{_p(paced_lat, 0.99) * 1000:>10.2f}"
    )
    print(f"throughput through NATS / in process: {fast_rate / base_rate:.2f}")
    print(
        f"p99 lag paced / in-process p99 latency: "
        f"{_p(paced_lat, 0.99) / _p(base_lat, 0.99):.2f} "
        f"(median of the paced lags {statistics.median(paced_lat) * 1000:.1f} ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
