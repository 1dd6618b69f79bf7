"""Payments inside the conversation with PSD2 strong customer authentication.

Not built yet (issue 8); the package exists so the layering is fixed from the start.
"""

from __future__ import annotations

__all__: list[str] = []
