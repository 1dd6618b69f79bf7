"""One-time codes reach the customer through a `Notifier`; the outbox is the local one."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from tessera.storage import utcnow
from tessera.vault import DataCategory, mask

__all__ = ["Notifier", "Outbox", "OutboxMessage"]


class Notifier(Protocol):
    """Delivers a short message to a registered destination (SMS, email or messaging)."""

    def send(self, tenant: str, channel: str, destination: str, message: str) -> None: ...


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    tenant: str
    channel: str
    destination: str
    message: str
    sent_at: str


class Outbox:
    """Keeps messages instead of sending them: for tests, the demo and air-gapped set-ups.

    With a path, each message is also appended to a JSON-lines file (0600), so that another
    process (the demo, a test driving a real server) can read what was "sent". The destination
    is kept masked (`+33 •••••••78`, `j•••@example.fr`), never in clear: the outbox is a file on
    disk beside the databases, and a contact value belongs in the vault.
    """

    def __init__(
        self, path: Path | None = None, *, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self.path = path
        self.clock = clock
        self.messages: list[OutboxMessage] = []
        self._lock = threading.Lock()

    def send(self, tenant: str, channel: str, destination: str, message: str) -> None:
        sent = OutboxMessage(
            tenant,
            channel,
            _masked(channel, destination),
            message,
            self.clock().isoformat(),
        )
        with self._lock:
            self.messages.append(sent)
            if self.path is not None:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as out:
                    out.write(json.dumps(asdict(sent)) + "\n")

    def last(self, destination: str | None = None) -> OutboxMessage | None:
        messages = self.messages
        if not messages and self.path is not None and self.path.exists():
            lines = self.path.read_text(encoding="utf-8").splitlines()
            messages = [OutboxMessage(**json.loads(line)) for line in lines if line]
        for sent in reversed(messages):
            if destination is None or sent.destination in (
                destination,
                _masked(sent.channel, destination),
            ):
                return sent
        return None


def _masked(channel: str, destination: str) -> str:
    category = DataCategory.EMAIL if channel == "email" else DataCategory.PHONE
    return mask(category, destination)
