"""Bulk tokenization of a file (JSON lines or CSV): progress, per-line errors, and resume.

The output holds tokens and line numbers, never values. A checkpoint beside the output records
how far input and output have gone, written only after the output is on disk; a job that dies
at any point resumes from it: the output is cut back to the checkpoint and the input read on
from there, so each input line appears exactly once in the output. Tokenizing is idempotent
(the same value for the same subject keeps its token), so even a lost checkpoint costs only time.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ._errors import InvalidValue, VaultError
from ._types import TokenizeRequest
from ._vault import Vault

__all__ = ["BatchMapper", "BulkRecord", "BulkReport", "tokenize_file", "tokenize_records"]

_FIELDS = ("value", "category", "subject", "ref")


@dataclass(frozen=True, slots=True)
class BulkReport:
    lines: int
    tokenized: int
    rejected: int
    resumed_at_line: int


@dataclass(slots=True)
class BulkRecord:
    """One input record: its line, where it ends in the input, and its fields (None when the
    line could not be read, with why)."""

    line: int
    end: int  # input offset just after this record
    fields: dict[str, Any] | None
    error: str | None = None


# What tokenizes the batches of a file, in their order: each batch with its output lines. The
# default does it here; a cluster sends them to workers (several at once) and gives them back
# in order, so that the output and its checkpoint stay those of one process.
BatchMapper = Callable[[Iterator[list[BulkRecord]]], Iterator[tuple[list[BulkRecord], list[bytes]]]]


def _fingerprint(path: Path) -> str:
    """Identifies the input, so that a checkpoint is never applied to another file."""
    stat = path.stat()
    with path.open("rb") as fh:
        head = fh.read(65536)
    return hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}:".encode() + head).hexdigest()


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson"}:
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise InvalidValue(f"unsupported input {path.name!r}: use .jsonl, .ndjson or .csv")


def _records(
    fh: BinaryIO, fmt: str, *, start: int, first_line: int, header: list[str] | None
) -> Iterator[BulkRecord]:
    fh.seek(start)
    line = first_line
    pending = b""
    while True:
        raw = fh.readline()
        if not raw:
            if pending:
                yield BulkRecord(line, fh.tell(), None, "unterminated quoted field")
            return
        if fmt == "csv":
            pending += raw
            if pending.count(b'"') % 2:  # a quoted value spans lines: read on
                continue
            raw, pending = pending, b""
        line += 1
        text = raw.decode("utf-8", errors="strict").strip() if raw.strip() else ""
        if not text:
            continue
        try:
            if fmt == "jsonl":
                data = json.loads(text)
                if not isinstance(data, dict):
                    raise ValueError("not an object")
            else:
                row = next(csv.reader(io.StringIO(text)))
                assert header is not None
                data = dict(zip(header, row, strict=False))
        except (ValueError, StopIteration, UnicodeDecodeError) as exc:
            yield BulkRecord(line, fh.tell(), None, f"unreadable line ({type(exc).__name__})")
            continue
        yield BulkRecord(line, fh.tell(), data)


def _request(fields: dict[str, Any]) -> TokenizeRequest:
    value, category, subject = fields.get("value"), fields.get("category"), fields.get("subject")
    if not isinstance(value, str):
        raise InvalidValue("field 'value' must be a string")
    if category is not None and not isinstance(category, str):
        raise InvalidValue("field 'category' must be a string")
    if subject is not None and not isinstance(subject, str):
        raise InvalidValue("field 'subject' must be a string")
    return TokenizeRequest(value, category or "generic", subject or None)


def tokenize_file(
    vault: Vault,
    tenant: str,
    source: Path,
    output: Path,
    *,
    batch_size: int = 5000,
    pause: float = 0.0,
    on_progress: Callable[[int, int], None] | None = None,
    mapper: BatchMapper | None = None,
) -> BulkReport:
    """Tokenize every record of `source` into `output` (JSON lines); resume if interrupted.

    `on_progress(bytes_done, bytes_total)` is called after each batch. `mapper` tokenizes the
    batches elsewhere (see `BatchMapper`); by default, here with `vault`.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    source, output = Path(source), Path(output)
    fmt = _format_of(source)
    checkpoint_path = output.with_name(output.name + ".checkpoint")
    fingerprint = _fingerprint(source)
    total = source.stat().st_size

    state: dict[str, Any] = {
        "fingerprint": fingerprint,
        "input": 0,
        "output": 0,
        "line": 0,
        "tokenized": 0,
        "rejected": 0,
        "header": None,
    }
    if checkpoint_path.exists():
        saved = json.loads(checkpoint_path.read_text("utf-8"))
        if saved.get("fingerprint") != fingerprint:
            raise InvalidValue(
                "the checkpoint beside the output belongs to another input file; "
                "remove it or choose another output"
            )
        state = saved
    elif output.exists() and output.stat().st_size:
        raise InvalidValue(f"{output.name} exists and has no checkpoint: refusing to overwrite")
    resumed_at = int(state["line"])

    with source.open("rb") as src, output.open("ab") as out:
        out.truncate(int(state["output"]))  # drop what was written after the last checkpoint
        out.seek(0, os.SEEK_END)
        if fmt == "csv" and state["header"] is None:
            header_line = src.readline().decode("utf-8-sig").strip()
            header = next(csv.reader(io.StringIO(header_line)), [])
            if "value" not in header:
                raise InvalidValue("the CSV header must name a 'value' column")
            state.update(header=header, input=src.tell(), line=1)
        records = _records(
            src,
            fmt,
            start=int(state["input"]),
            first_line=int(state["line"]),
            header=state["header"],
        )
        if on_progress:
            on_progress(int(state["input"]), total)

        def batches() -> Iterator[list[BulkRecord]]:
            while batch := [r for _, r in zip(range(batch_size), records, strict=False)]:
                yield batch

        done = (
            mapper(batches())
            if mapper is not None
            else ((batch, tokenize_records(vault, tenant, batch)) for batch in batches())
        )
        for batch, lines in done:
            out.write(b"".join(lines))
            out.flush()
            os.fsync(out.fileno())
            state["input"], state["line"] = batch[-1].end, batch[-1].line
            state["output"] = out.tell()
            state["tokenized"] += sum(1 for line in lines if b'"token"' in line)
            state["rejected"] += sum(1 for line in lines if b'"error"' in line)
            _write_checkpoint(checkpoint_path, state)
            if on_progress:
                on_progress(int(state["input"]), total)
            if pause:
                time.sleep(pause)
    checkpoint_path.unlink()
    return BulkReport(
        int(state["line"]), int(state["tokenized"]), int(state["rejected"]), resumed_at
    )


def tokenize_records(vault: Vault, tenant: str, batch: list[BulkRecord]) -> list[bytes]:
    """One output line per record: its token, or why it was rejected (never the value)."""
    results: dict[int, dict[str, Any]] = {}
    valid: list[tuple[BulkRecord, TokenizeRequest]] = []
    for record in batch:
        ref = (record.fields or {}).get("ref")
        base = {"line": record.line, **({"ref": ref} if isinstance(ref, str | int) else {})}
        if record.fields is None:
            results[record.line] = {**base, "error": "malformed", "detail": record.error}
            continue
        try:
            request = _request(record.fields)
            vault.validate(request)
        except VaultError as exc:
            results[record.line] = {**base, "error": "invalid-value", "detail": exc.detail}
            continue
        results[record.line] = base
        valid.append((record, request))
    if valid:
        tokens = vault.tokenize_batch(tenant, [request for _, request in valid])
        for (record, _), token in zip(valid, tokens, strict=True):
            results[record.line].update(
                token=token.token, category=token.category.value, subject=token.subject
            )
    return [(json.dumps(results[r.line], ensure_ascii=False) + "\n").encode() for r in batch]


def _write_checkpoint(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
