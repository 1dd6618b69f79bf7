"""Who asks, to do what, on which data, in which context: the words of every access decision."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from tessera import Assurance

__all__ = [
    "AccessContext",
    "Action",
    "Assurance",
    "CallerKind",
    "PolicyDecision",
    "PolicyOutcome",
    "Principal",
    "Resource",
]


class CallerKind(enum.StrEnum):
    """What a caller is; each kind is also a Cedar role its principal belongs to."""

    SERVICE = "service"
    AGENT = "agent"
    EXPERT = "expert"
    BOT = "bot"
    ANALYTICS = "analytics"
    PAYMENTS = "payments"
    DPO = "dpo"
    CUSTOMER = "customer"
    # Staff at the DPO console besides the DPO: analysts search the logs without clear values;
    # auditors verify the logs and read the record of processing.
    ANALYST = "analyst"
    AUDITOR = "auditor"


class Action(enum.StrEnum):
    READ_MASKED = "read_masked"
    DETOKENIZE = "detokenize"
    EXPORT = "export"
    ERASE = "erase"
    PAY = "pay"
    # Data-subject requests (GDPR Art. 15-21); the resource's category is `request:<kind>`.
    OPEN_REQUEST = "open_request"
    VERIFY_IDENTITY = "verify_identity"  # by hand, with evidence (a request on paper or by phone)
    MANAGE_REQUEST = "manage_request"  # extend (Art. 12(3)) or reject, with a reason
    EXECUTE_REQUEST = "execute_request"
    # A card keyed on a call is a telephone order (MOTO), outside SCA (RTS recital 8).
    DECLARE_TELEPHONE_ORDER = "declare_telephone_order"
    # Oversight at the DPO console; the resource's category names what is overseen
    # (`log:consent`, `log:access`, `log:requests`, `record:processing`).
    SEARCH_LOGS = "search_logs"
    EXPORT_LOGS = "export_logs"
    VERIFY_LOGS = "verify_logs"
    READ_RECORD = "read_record"


@dataclass(frozen=True, slots=True)
class Principal:
    id: str
    tenant: str
    kind: CallerKind
    roles: frozenset[str] = frozenset()
    subject: str = ""  # a customer's own subject id; empty for services


@dataclass(frozen=True, slots=True)
class Resource:
    """One data category of one subject."""

    tenant: str
    subject: str
    category: str


@dataclass(frozen=True, slots=True)
class AccessContext:
    purpose: str
    channel: str
    assurance: Assurance = Assurance.LOW
    legal_basis: str = ""
    consent: str = "none"  # the latest consent event's kind for the purpose, or "none"
    lawful: bool = False  # the consent ledger's answer to "may we?"
    hour: int = 12


class PolicyOutcome(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    STEP_UP = "step_up"


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """The outcome and the ids of the policies that determined it."""

    outcome: PolicyOutcome
    policy_ids: tuple[str, ...] = field(default_factory=tuple)
    required_assurance: Assurance | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome is PolicyOutcome.ALLOW
