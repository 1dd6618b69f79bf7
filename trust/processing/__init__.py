"""The record of processing activities (GDPR Art. 30(1)), generated from what Tessera enforces:
purposes and legal bases from the catalogue, recipients from the policy set in force, the
categories the vault holds, the ledger's current choices, and the recipients the audit trail
observed. Never typed, so always in step.

Public face: `processing_record(services, tenant)` and its formats (`as_json`, `as_csv`,
`as_html`), over the plain dataclasses of `_record.py`.
"""

from __future__ import annotations

from ._formats import as_csv, as_html, as_json
from ._gather import DEFAULT_PERIOD, processing_record
from ._record import (
    Observed,
    ProcessingActivity,
    ProcessingRecord,
    Recipient,
    allowed_recipients,
    build_record,
)

__all__ = [
    "DEFAULT_PERIOD",
    "Observed",
    "ProcessingActivity",
    "ProcessingRecord",
    "Recipient",
    "allowed_recipients",
    "as_csv",
    "as_html",
    "as_json",
    "build_record",
    "processing_record",
]
