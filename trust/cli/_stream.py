"""`tessera stream redact`: live transcripts from NATS JetStream, redacted as they are said."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from ._common import err, out

__all__ = ["stream_app"]

stream_app = typer.Typer(help="Streaming jobs on a message broker.", no_args_is_help=True)


@stream_app.command("redact")
def stream_redact(
    nats: Annotated[str, typer.Option(help="The NATS server (JetStream enabled).")] = (
        "nats://127.0.0.1:4222"
    ),
    tenant: Annotated[
        str | None, typer.Option(help="Only this tenant's conversations (a durable of its own).")
    ] = None,
    language: Annotated[str, typer.Option(help="fr or en (a message may say its own).")] = "fr",
    mode: Annotated[str, typer.Option(help="tag (<CARD>) or mask (•••).")] = "tag",
    hold_seconds: Annotated[
        float, typer.Option(min=0.1, max=60, help="How long a number that may go on is held.")
    ] = 2.0,
    idle_seconds: Annotated[
        float, typer.Option(min=1, max=86_400, help="A silent conversation is closed after.")
    ] = 300.0,
    ack_wait: Annotated[
        float, typer.Option(min=1, max=3_600, help="Seconds before the broker redelivers.")
    ] = 30.0,
    durable: Annotated[str | None, typer.Option(help="The consumer's durable name.")] = None,
) -> None:
    """Consume `tessera.transcripts.<tenant>.<conversation>` (JSON turns: speaker, text,
    language?, at?; {"event": "close"} ends one) and publish each redacted turn, with its
    findings, to `tessera.redacted.<tenant>.<conversation>`; malformed messages go to
    `tessera.deadletter.…` with their reason. Ctrl-C stops it; what is held is redelivered to
    the next consumer."""
    import asyncio
    import signal

    from tessera.trust._settings import Settings
    from tessera.trust.redaction import RedactionMode, shared_redactor
    from tessera.trust.streaming import ConsumerCounts, Conversations, consume
    from tessera.vault import VaultError, check_tenant

    if mode not in ("tag", "mask"):
        raise typer.BadParameter("tag or mask (token mode needs a tenant's vault: use the API)")
    if language not in ("fr", "en"):
        raise typer.BadParameter("fr or en")
    if tenant is not None:
        try:
            check_tenant(tenant)
        except VaultError as exc:
            raise typer.BadParameter(exc.detail) from None
    redactor = shared_redactor(Settings().redaction_model)
    redactor.redact("warm", language=language)  # the model loads before the first message
    conversations = Conversations(
        redactor,
        language=language,
        mode=RedactionMode(mode),
        hold_seconds=hold_seconds,
        idle_seconds=idle_seconds,
    )
    last = [0.0]

    def progress(counts: ConsumerCounts, open_: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 5:
            last[0] = now
            err.print(
                f"[dim]{counts.received} received, {counts.published} published, "
                f"{counts.dead} dead letters, {open_} conversations open[/dim]"
            )

    async def run() -> ConsumerCounts:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        out.print(f"consuming from {nats.split('@')[-1]} (Ctrl-C to stop)")
        return await consume(
            nats,
            conversations,
            tenant=tenant,
            durable=durable,
            ack_wait=ack_wait,
            stop=stop,
            on_progress=progress,
        )

    counts = asyncio.run(run())
    out.print(
        f"stopped: {counts.received} received, {counts.published} published, "
        f"{counts.dead} dead letters"
    )
