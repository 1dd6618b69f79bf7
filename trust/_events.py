"""Security events: what the rooms tell the audit trail of the changes an auditor asks about
(tenants, API keys, webhook endpoints, key rotations, policy loads). Declared here, beside the
errors, so that any room can tell them; the composition root wires the audit log in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["SecurityEvents"]


class SecurityEvents(Protocol):
    def security_event(
        self, tenant: str, event: str, facts: Mapping[str, Any], *, actor: str
    ) -> None:
        """Record `event` in `tenant`'s trail before it takes effect; raise if it cannot be
        recorded (the change is then not made). `facts` hold ids and counts, never a secret."""
        ...
