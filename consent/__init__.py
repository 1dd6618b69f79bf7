"""Consent ledger per purpose and channel, receipts and data-subject rights.

Not built yet (issue 4); the package exists so the layering is fixed from the start.
"""

from __future__ import annotations

__all__: list[str] = []
