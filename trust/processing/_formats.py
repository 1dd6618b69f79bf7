"""The record of processing as JSON (for machines), CSV (a row per purpose and recipient, for a
spreadsheet) and HTML (for people and paper: it prints well, nothing loaded from elsewhere)."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ._record import ProcessingRecord

__all__ = ["as_csv", "as_html", "as_json"]

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def as_json(record: ProcessingRecord) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    data["generated_at"] = record.generated_at.isoformat()
    data["period"] = {"from": record.period[0].isoformat(), "to": record.period[1].isoformat()}
    data["format"] = "tessera-processing-record/1"
    return data


def as_csv(record: ProcessingRecord) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "purpose",
            "legal_basis",
            "data_categories",
            "retention_days",
            "recipient",
            "action",
            "recipient_categories",
            "channels",
            "assurance",
            "policies",
            "observed_accesses",
        ]
    )
    for a in record.activities:
        if not a.recipients:
            writer.writerow(
                [a.purpose, a.legal_basis, " ".join(a.data_categories), a.retention_days] + [""] * 7
            )
        for r in a.recipients:
            seen = sum(
                o.count
                for o in a.observed
                if (o.caller_kind, o.action) == (r.caller_kind, r.action)
            )
            writer.writerow(
                [
                    a.purpose,
                    a.legal_basis,
                    " ".join(a.data_categories),
                    a.retention_days,
                    r.caller_kind,
                    r.action,
                    " ".join(r.categories),
                    " ".join(r.channels),
                    r.assurance,
                    " ".join(r.policies),
                    seen,
                ]
            )
    return out.getvalue()


def as_html(record: ProcessingRecord) -> str:
    return _TEMPLATES.get_template("record.html").render(record=record)
