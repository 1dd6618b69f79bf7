"""One router per area of the API; `create_app` includes them in order."""

from __future__ import annotations

__all__: list[str] = []
