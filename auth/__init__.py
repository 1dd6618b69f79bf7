"""Invisible strong authentication: risk engine and step-up factors.

Not built yet (issue 7); the package exists so the layering is fixed from the start.
"""

from __future__ import annotations

__all__: list[str] = []
