"""The audit log: every access decision, consent event, authentication and payment, hash-chained,
with signed Merkle checkpoints (RFC 9162) a DPO verifies offline.

`AuditLog` appends (group commit) and signs; `verify_export` and `verify_inclusion_proof` check
with no database and no secret.
"""

from __future__ import annotations

from ._log import AuditLog, AuditRecord, SubjectEntry
from ._merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from ._search import OUTCOMES, AccessQuery
from ._tables import AuditCheckpoint, AuditEntryRow, AuditHead
from ._verify import CHECKPOINT_TYPE, EXPORT_FORMAT, verify_export, verify_inclusion_proof

__all__ = [
    "CHECKPOINT_TYPE",
    "EXPORT_FORMAT",
    "OUTCOMES",
    "AccessQuery",
    "AuditCheckpoint",
    "AuditEntryRow",
    "AuditHead",
    "AuditLog",
    "AuditRecord",
    "MerkleTree",
    "SubjectEntry",
    "leaf_hash",
    "verify_consistency",
    "verify_export",
    "verify_inclusion",
    "verify_inclusion_proof",
]
