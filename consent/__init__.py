"""Consent: purposes and notices, the hash-chained ledger per purpose and channel, signed
receipts, and data-subject rights.

Public face: `Catalogue` (purposes, notices), `ConsentLedger` (record, may_we, history,
verify, rebuild, GPC), `Receipts` / `verify_receipt`, `DataSubjectRights`, the domain's enums
and dataclasses, and one error hierarchy under `ConsentError`.
"""

from __future__ import annotations

from ._catalogue import (
    Catalogue,
    CatalogueSpec,
    ControllerSpec,
    PurposeSpec,
    load_catalogue_file,
    parse_catalogue,
    parse_purpose,
)
from ._chain import GENESIS, ChainReport, ChainRow, canonical, link, verify_chain
from ._dsr import (
    AccessHistory,
    DataSubjectRights,
    DsrKind,
    DsrRequest,
    DsrState,
    SubjectData,
    due_date,
    export_csv,
)
from ._errors import (
    CatalogueError,
    ChainBroken,
    ConsentError,
    DsrNotFound,
    IdempotencyConflict,
    IdentityNotVerified,
    InvalidEvent,
    InvalidReceipt,
    InvalidTransition,
    UnknownPurpose,
)
from ._evidence import EVIDENCE_FIELDS, missing_evidence
from ._ledger import ConsentLedger, ConsentObserver, ConsentRequest
from ._model import (
    Channel,
    ConsentDecision,
    ConsentEvent,
    EventKind,
    EventRef,
    LegalBasis,
    Purpose,
)
from ._projection import decide
from ._receipts import (
    HEAD_TYPE,
    RECEIPT_TYPE,
    Receipts,
    signing_jwk,
    tenant_signing_key,
    verify_head,
    verify_receipt,
)
from ._search import ConsentQuery

__all__ = [
    "EVIDENCE_FIELDS",
    "GENESIS",
    "HEAD_TYPE",
    "RECEIPT_TYPE",
    "AccessHistory",
    "Catalogue",
    "CatalogueError",
    "CatalogueSpec",
    "ChainBroken",
    "ChainReport",
    "ChainRow",
    "Channel",
    "ConsentDecision",
    "ConsentError",
    "ConsentEvent",
    "ConsentLedger",
    "ConsentObserver",
    "ConsentQuery",
    "ConsentRequest",
    "ControllerSpec",
    "DataSubjectRights",
    "DsrKind",
    "DsrNotFound",
    "DsrRequest",
    "DsrState",
    "EventKind",
    "EventRef",
    "IdempotencyConflict",
    "IdentityNotVerified",
    "InvalidEvent",
    "InvalidReceipt",
    "InvalidTransition",
    "LegalBasis",
    "Purpose",
    "PurposeSpec",
    "Receipts",
    "SubjectData",
    "UnknownPurpose",
    "canonical",
    "decide",
    "due_date",
    "export_csv",
    "link",
    "load_catalogue_file",
    "missing_evidence",
    "parse_catalogue",
    "parse_purpose",
    "signing_jwk",
    "tenant_signing_key",
    "verify_chain",
    "verify_head",
    "verify_receipt",
]
