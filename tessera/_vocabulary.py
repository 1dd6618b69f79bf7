"""The words the packages share: where a customer speaks to us, and how sure we are of who they
are. One definition below every package, so that consent, auth, payments and policies agree."""

from __future__ import annotations

import enum

__all__ = ["Assurance", "Channel"]


class Channel(enum.StrEnum):
    """Where the customer expressed the choice: a first-class fact of every event."""

    WEB = "web"
    APP = "app"
    CHAT = "chat"
    MESSAGING = "messaging"
    SMS = "sms"
    VOICE_IVR = "voice_ivr"
    VOICE_AGENT = "voice_agent"
    VOICE_ASSISTANT = "voice_assistant"
    EMAIL = "email"
    IN_PERSON = "in_person"


class Assurance(enum.IntEnum):
    """Authentication assurance of the session (eIDAS LoA / NIST AAL in spirit)."""

    LOW = 1
    SUBSTANTIAL = 2
    HIGH = 3

    @classmethod
    def parse(cls, name: str) -> Assurance:
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown assurance level {name[:20]!r}; expected low, substantial or high"
            ) from None
