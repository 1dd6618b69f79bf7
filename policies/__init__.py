"""Purpose-based access control as code, deny by default.

Not built yet (issue 5); the package exists so the layering is fixed from the start.
"""

from __future__ import annotations

__all__: list[str] = []
