"""`tessera redact`: transcript files redacted into a folder, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import err, out, progress

__all__ = ["redact"]


def redact(
    source: Annotated[Path, typer.Argument(help="A transcript file or a folder of them.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the redacted files.")],
    language: Annotated[str, typer.Option(help="fr or en (a turn may say its own).")] = "fr",
    mode: Annotated[str, typer.Option(help="tag (<CARD>) or mask (•••).")] = "tag",
    workers: Annotated[
        int, typer.Option(min=1, max=32, help="Processes (each loads the model).")
    ] = 1,
    cluster: Annotated[
        str | None,
        typer.Option(
            help="Redact on a Dask cluster: local (WORKERS processes here), or a scheduler's "
            "tls://host:port (tcp:// on 127.0.0.1 only). Files stay here; workers get bytes."
        ),
    ] = None,
    reading: Annotated[
        str,
        typer.Option(
            help="Plain text: auto (`Speaker: text` lines are a conversation), text or "
            "conversation."
        ),
    ] = "auto",
) -> None:
    """Redact transcripts (.txt, .jsonl turns, .json Amazon Connect or Genesys Cloud exports,
    .vtt, .srt) into OUTPUT, the same tree; run it again after an interruption and it goes on
    where it stopped. A .txt whose lines are
    `Speaker: text` (with or without a time, or SPEAKER_00 labels) is read as a conversation."""
    from tessera.trust._settings import Settings
    from tessera.trust.cluster import check_cluster_address
    from tessera.trust.redaction import Reading, RedactionJob, RedactionMode

    if mode not in ("tag", "mask"):
        raise typer.BadParameter("tag or mask (token mode needs a tenant: use the API)")
    if language not in ("fr", "en"):
        raise typer.BadParameter("fr or en")
    if reading not in set(Reading):
        raise typer.BadParameter("auto, text or conversation")
    job = RedactionJob(
        source,
        output,
        language=language,
        mode=RedactionMode(mode),
        model=Settings().redaction_model,
        workers=workers,
        reading=Reading(reading),
        cluster=check_cluster_address(cluster) if cluster is not None else None,
    )
    with progress("redacted", f"redacting {source.name}", unit=" files") as on_progress:
        outcomes = job.run(on_progress=on_progress)
    done = [o for o in outcomes if o.status == "redacted"]
    skipped = [o for o in outcomes if o.status == "skipped"]
    failed = [o for o in outcomes if o.status == "failed"]
    out.print(
        f"{len(done)} redacted ({sum(o.findings for o in done)} findings), "
        f"{len(skipped)} already done, {len(failed)} failed"
    )
    for o in failed:
        err.print(f"{o.source}: {o.error}")
    if failed:
        raise typer.Exit(1)
