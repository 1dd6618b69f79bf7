"""Redacting folders of transcripts: plain text (free, or `Speaker: text` lines read as a
conversation), JSON lines (one turn a line), Amazon Connect and Genesys Cloud JSON exports,
WebVTT and SRT.

Each file is redacted whole, written beside its final name and renamed into place only when
complete, and recorded in a manifest in the output folder with the digest of its input: a rerun
after an interruption skips what is done and redoes the rest, and never leaves a partial file
that looks finished. A file that can't be read (invalid UTF-8, a malformed line or cue) is
reported and skipped; the others go on.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tessera.trust._errors import MalformedTranscript, RedactionError

from ._exports import redact_export
from ._redactor import RedactionMode, Redactor, Turn
from ._speakers import Reading, redact_as_read, speaker_turns

__all__ = ["SUFFIXES", "FileOutcome", "RedactionJob", "redact_file_text"]

SUFFIXES = (".txt", ".jsonl", ".ndjson", ".json", ".vtt", ".srt")
MANIFEST = ".tessera-redact.json"
_TIMING = re.compile(r"^\s*(?:\d{2}:)?\d{2}:\d{2}[.,]\d{3}\s+-->\s+(?:\d{2}:)?\d{2}:\d{2}[.,]\d{3}")
_VOICE = re.compile(r"^<v(?:\.[\w.-]+)?\s+([^>]{1,64})>")


@dataclass(frozen=True, slots=True)
class FileOutcome:
    source: str  # relative to the input root
    status: str  # redacted, skipped (done before), failed
    findings: int = 0
    error: str = ""


def redact_file_text(
    redactor: Redactor,
    text: str,
    suffix: str,
    *,
    language: str,
    mode: RedactionMode,
    reading: Reading = Reading.AUTO,
) -> tuple[str, int]:
    """The redacted content of one file, and how many findings. A plain text is read as a
    conversation when its lines are `Speaker: text` (detected, or `reading`)."""
    match suffix:
        case ".jsonl" | ".ndjson":
            return _jsonl(redactor, text, language, mode)
        case ".vtt" | ".srt":
            return _cues(redactor, text, language, mode, vtt=suffix == ".vtt")
        case ".json":
            return redact_export(redactor, text, language=language, mode=mode)
        case _:
            return _plain(redactor, text, language, mode, reading)


def _plain(
    redactor: Redactor, text: str, language: str, mode: RedactionMode, reading: Reading
) -> tuple[str, int]:
    turns = speaker_turns(text, reading)
    if turns:
        done = redact_as_read(
            text,
            turns,
            lambda read: redactor.redact_conversation(read, language=language, default=mode),
            max_chars=redactor.max_chars,
            language=language,
        )
        return done.text, len(done.findings)
    # A long free text goes in line-aligned chunks under the limit of one text.
    out, found = [], 0
    for chunk in _chunks(text, redactor.max_chars):
        done = redactor.redact(chunk, language=language, default=mode)
        out.append(done.text)
        found += len(done.findings)
    return "".join(out), found


def _chunks(text: str, limit: int) -> Iterator[str]:
    start = 0
    while start < len(text):
        end = min(start + limit, len(text))
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        yield text[start:end]
        start = end


def _jsonl(redactor: Redactor, text: str, language: str, mode: RedactionMode) -> tuple[str, int]:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise MalformedTranscript(f"line {number} is not JSON") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise MalformedTranscript(f'line {number} has no "text" string')
        records.append(record)
    turns = [Turn(str(r.get("speaker", "")), r["text"], r.get("language") or None) for r in records]
    done = redactor.redact_conversation(turns, language=language, default=mode)
    lines = [
        json.dumps({**r, "text": d.text}, ensure_ascii=False)
        for r, d in zip(records, done, strict=True)
    ]
    return "".join(line + "\n" for line in lines), sum(len(d.findings) for d in done)


def _cues(
    redactor: Redactor, text: str, language: str, mode: RedactionMode, *, vtt: bool
) -> tuple[str, int]:
    """Cue text is redacted as a conversation (a voice tag, or the cue, is the speaker); the
    header, numbers and timings are kept as they are."""
    lines = text.splitlines()
    if vtt and (not lines or not lines[0].lstrip("\ufeff").startswith("WEBVTT")):
        raise MalformedTranscript("a WebVTT file starts with WEBVTT")
    positions: list[int] = []
    tags: list[str] = []  # a WebVTT voice tag is kept, not redacted: it names the speaker
    turns: list[Turn] = []
    in_cue = False
    for i, line in enumerate(lines):
        if _TIMING.match(line):
            in_cue = True
            continue
        if not line.strip():
            in_cue = False
            continue
        if in_cue:
            voice = _VOICE.match(line)
            tag = voice[0] if voice else ""
            positions.append(i)
            tags.append(tag)
            turns.append(Turn(voice[1] if voice else "cue", line[len(tag) :]))
    if not vtt and lines and not positions:
        raise MalformedTranscript("no SRT cue (number, timing, text) was found")
    done = redactor.redact_conversation(turns, language=language, default=mode) if turns else []
    for i, tag, d in zip(positions, tags, done, strict=True):
        lines[i] = tag + d.text
    return "\n".join(lines) + ("\n" if text.endswith("\n") else ""), sum(
        len(d.findings) for d in done
    )


# ---------------------------------------------------------------------- the job
_WARMED: set[str] = set()


def worker_redactor(model: str) -> Redactor:
    """The redactor of a bulk worker (a pool's process, a cluster's worker): warmed once, before
    its first file."""
    from ._redactor import shared_redactor

    redactor = shared_redactor(model)
    if model not in _WARMED:
        redactor.warm()
        _WARMED.add(model)
    return redactor


def _start_worker(model: str) -> None:
    worker_redactor(model)


def _work(args: tuple[str, str, str, str, str, str, str]) -> tuple[str, int, str]:
    source, target, suffix, language, mode, reading, model = args
    return _redact_one(
        worker_redactor(model),
        Path(source),
        Path(target),
        suffix,
        language,
        RedactionMode(mode),
        Reading(reading),
    )


def _redact_one(
    redactor: Redactor,
    source: Path,
    target: Path,
    suffix: str,
    language: str,
    mode: RedactionMode,
    reading: Reading = Reading.AUTO,
) -> tuple[str, int, str]:
    """(input digest, findings, error): the output appears only once it is complete."""
    digest, redacted, found, error = redact_bytes(
        redactor, source.read_bytes(), suffix, language, mode, reading
    )
    if redacted is not None:
        write_whole(target, redacted)
    return digest, found, error


def redact_bytes(
    redactor: Redactor,
    raw: bytes,
    suffix: str,
    language: str,
    mode: RedactionMode,
    reading: Reading = Reading.AUTO,
) -> tuple[str, str | None, int, str]:
    """(input digest, redacted text or None, findings, error) of one file's content."""
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return digest, None, 0, f"not UTF-8 (byte {exc.start})"
    try:
        redacted, found = redact_file_text(
            redactor, text, suffix, language=language, mode=mode, reading=reading
        )
    except RedactionError as exc:
        return digest, None, 0, exc.detail
    return digest, redacted, found, ""


def write_whole(target: Path, text: str) -> None:
    """Written beside its name, synced, then renamed: never a partial file that looks done."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with partial.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    partial.replace(target)


class RedactionJob:
    """Redact `source` (a file or a folder) into `output`, resumably."""

    def __init__(
        self,
        source: Path,
        output: Path,
        *,
        language: str = "fr",
        mode: RedactionMode = RedactionMode.TAG,
        model: str = "fr_core_news_sm",
        workers: int = 1,
        reading: Reading = Reading.AUTO,
        cluster: str | None = None,
    ) -> None:
        if not source.exists():
            raise RedactionError(f"{source} does not exist")
        if output.resolve() == source.resolve() or (
            source.is_dir() and output.resolve().is_relative_to(source.resolve())
        ):
            raise RedactionError("the output folder must be outside the input")
        self.source, self.output = source, output
        self.language, self.mode, self.model = language, mode, model
        self.workers = max(1, workers)
        self.reading = reading
        self.cluster = cluster  # "local", or a Dask scheduler's address: see `_cluster`

    def files(self) -> list[Path]:
        if self.source.is_file():
            if self.source.suffix.lower() not in SUFFIXES:
                raise RedactionError(
                    f"unsupported file type; expected one of {', '.join(SUFFIXES)}"
                )
            return [self.source]
        return sorted(
            p for p in self.source.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
        )

    def run(self, on_progress: Callable[[int, int], None] | None = None) -> list[FileOutcome]:
        files = self.files()
        root = self.source if self.source.is_dir() else self.source.parent
        self.output.mkdir(parents=True, exist_ok=True)
        manifest = self._manifest()
        outcomes: list[FileOutcome] = []
        todo: list[tuple[str, Path, Path]] = []
        for path in files:
            rel = path.relative_to(root).as_posix()
            target = self.output / rel
            seen = manifest.get(rel)
            if seen and target.exists() and seen == _digest(path):
                outcomes.append(FileOutcome(rel, "skipped"))
            else:
                todo.append((rel, path, target))
        total = len(files)
        if on_progress:
            on_progress(len(outcomes), total)
        for rel, (digest, found, error) in self._each(todo):
            if error:
                outcomes.append(FileOutcome(rel, "failed", error=error))
            else:
                manifest[rel] = digest
                self._save(manifest)
                outcomes.append(FileOutcome(rel, "redacted", found))
            if on_progress:
                on_progress(len(outcomes), total)
        return outcomes

    def _each(
        self, todo: Sequence[tuple[str, Path, Path]]
    ) -> Iterator[tuple[str, tuple[str, int, str]]]:
        if self.cluster is not None:
            from ._cluster import redact_on_cluster

            yield from redact_on_cluster(
                self.cluster,
                todo,
                workers=self.workers,
                model=self.model,
                language=self.language,
                mode=self.mode,
                reading=self.reading,
            )
            return
        if self.workers == 1 or len(todo) <= 1:
            from ._redactor import shared_redactor

            redactor = shared_redactor(self.model) if todo else None
            for rel, path, target in todo:
                assert redactor is not None
                yield (
                    rel,
                    _redact_one(
                        redactor,
                        path,
                        target,
                        path.suffix.lower(),
                        self.language,
                        self.mode,
                        self.reading,
                    ),
                )
            return
        args = [
            (
                str(p),
                str(t),
                p.suffix.lower(),
                self.language,
                self.mode.value,
                self.reading.value,
                self.model,
            )
            for _, p, t in todo
        ]
        with ProcessPoolExecutor(
            self.workers, initializer=_start_worker, initargs=(self.model,)
        ) as pool:
            for (rel, _, _), result in zip(todo, pool.map(_work, args), strict=True):
                yield rel, result

    def _manifest(self) -> dict[str, str]:
        path = self.output / MANIFEST
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text())
        except ValueError:
            return {}  # a torn manifest: everything is redone, nothing is lost
        return {k: v for k, v in data.get("done", {}).items() if isinstance(v, str)}

    def _save(self, manifest: dict[str, str]) -> None:
        path = self.output / MANIFEST
        partial = path.with_name(path.name + ".part")
        partial.write_text(json.dumps({"version": 1, "done": manifest}, indent=0))
        partial.replace(path)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
