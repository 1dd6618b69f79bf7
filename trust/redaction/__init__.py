"""Transcript redaction for French and English, typed or spoken.

The engine (`Redactor`, `RedactionStream`) is text in, text out: Presidio's analyzer with the
official French spaCy model, our checksum-validated recognizers, spoken numbers and names. The
service edge (`Redactions`) adds a tenant's vault (the conversation's subject, recorded first in
the audit log) and its phone payments; `RedactionJob` redacts transcript files. spaCy and
Presidio load on first use, never on import.
"""

from __future__ import annotations

from ._exports import EXPORT_SHAPES, redact_export
from ._redactor import (
    FRENCH_MODEL,
    LANGUAGES,
    MAX_TEXT_CHARS,
    Finding,
    KnownValue,
    NumberWindow,
    Redacted,
    RedactionMode,
    RedactionStream,
    Redactor,
    Released,
    Turn,
    shared_redactor,
)
from ._service import MAX_PAYMENTS, PaymentWindows, Redactions
from ._speakers import Reading, SpeakerTurn, speaker_turns
from ._transcripts import MANIFEST, SUFFIXES, FileOutcome, RedactionJob, redact_file_text

__all__ = [
    "EXPORT_SHAPES",
    "FRENCH_MODEL",
    "LANGUAGES",
    "MANIFEST",
    "MAX_PAYMENTS",
    "MAX_TEXT_CHARS",
    "SUFFIXES",
    "FileOutcome",
    "Finding",
    "KnownValue",
    "NumberWindow",
    "PaymentWindows",
    "Reading",
    "Redacted",
    "RedactionJob",
    "RedactionMode",
    "RedactionStream",
    "Redactions",
    "Redactor",
    "Released",
    "SpeakerTurn",
    "Turn",
    "redact_export",
    "redact_file_text",
    "shared_redactor",
    "speaker_turns",
]
