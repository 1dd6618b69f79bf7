"""Redaction's service edge: a tenant's redactions with the conversation's subject read from
the vault (recorded in the audit log first), the keypad windows of its phone payments, and vault
tokens in token mode. The engine (`_redactor`) knows nothing of tenants or storage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opentelemetry import trace

from tessera.metrics import REDACTION_FINDINGS, REDACTION_UTTERANCES
from tessera.payments import PhonePayments
from tessera.trust._errors import RedactionError
from tessera.trust.audit import AuditLog, AuditRecord
from tessera.trust.identity import Caller
from tessera.trust.telemetry import stage
from tessera.vault import InvalidValue, TokenRecord, Vault, check_subject, check_tenant

from ._redactor import (
    FRENCH_MODEL,
    KnownValue,
    NumberWindow,
    Redacted,
    RedactionMode,
    RedactionStream,
    Redactor,
    Tokenizer,
    Turn,
    shared_redactor,
)
from ._speakers import Reading, redact_as_read, speaker_turns

__all__ = ["MAX_PAYMENTS", "PaymentWindows", "Redactions"]


_KNOWN_CATEGORIES = {
    "person_name": "PERSON",
    "email": "EMAIL",
    "phone": "PHONE",
    "postal_address": "ADDRESS",
}


MAX_PAYMENTS = 10  # named in one conversation


class Redactions:
    """Redaction for a tenant: the conversation's subject's own values from the vault, the
    keypad windows of the phone payments taken in it, and vault tokens in token mode. The
    model loads on first use, not at start-up.

    Reading a subject's values is an access to their data, though none leaves: with an audit
    log, it is recorded first (who, which tokens, for redaction), and without the record the
    values are not read."""

    def __init__(
        self,
        vault: Vault,
        phone: PhonePayments | None = None,
        *,
        model: str = FRENCH_MODEL,
        audit: AuditLog | None = None,
    ) -> None:
        self.vault = vault
        self.phone = phone
        self.model = model
        self.audit = audit

    @property
    def redactor(self) -> Redactor:
        return shared_redactor(self.model)

    def text(
        self,
        tenant: str,
        text: str,
        *,
        language: str = "fr",
        modes: Mapping[str, RedactionMode] | None = None,
        default: RedactionMode = RedactionMode.TAG,
        subject: str | None = None,
        by: Caller | None = None,
        reading: Reading = Reading.TEXT,
    ) -> Redacted:
        """`reading`: a plain-text transcript of `Speaker: text` lines is redacted as a
        conversation (auto detects it); the findings are in the text's own offsets."""
        redactor = self.redactor
        turns = speaker_turns(text, reading) if isinstance(text, str) else None
        known, tokenize = self._for(tenant, subject, by)
        with stage(_tracer, "redaction.text"):
            if turns:
                done = redact_as_read(
                    text,
                    turns,
                    lambda read: redactor.redact_conversation(
                        read,
                        language=language,
                        modes=modes,
                        default=default,
                        known=known,
                        tokenize=tokenize,
                    ),
                    max_chars=redactor.max_chars,
                    language=language.lower()[:2],
                )
            else:
                done = redactor.redact(
                    text,
                    language=language,
                    modes=modes,
                    default=default,
                    known=known,
                    tokenize=tokenize,
                )
        _count([done])
        return done

    def conversation(
        self,
        tenant: str,
        turns: Sequence[Turn],
        *,
        language: str = "fr",
        modes: Mapping[str, RedactionMode] | None = None,
        default: RedactionMode = RedactionMode.TAG,
        subject: str | None = None,
        payments: Sequence[str] = (),
        by: Caller | None = None,
    ) -> list[Redacted]:
        """`payments`: those taken in this conversation; a number said while one of their
        keypads was open is masked as a card, whatever its form (the turns then need `at`)."""
        known, tokenize = self._for(tenant, subject, by)
        with _tracer.start_as_current_span("redaction.conversation") as span:
            span.set_attribute("tessera.turns", len(turns))
            done = self.redactor.redact_conversation(
                turns,
                language=language,
                modes=modes,
                default=default,
                known=known,
                tokenize=tokenize,
                windows=self._windows(tenant, payments),
            )
        _count(done)
        return done

    def stream(
        self,
        tenant: str,
        *,
        language: str = "fr",
        modes: Mapping[str, RedactionMode] | None = None,
        default: RedactionMode = RedactionMode.TAG,
        subject: str | None = None,
        windows: PaymentWindows | None = None,
        by: Caller | None = None,
    ) -> RedactionStream:
        """As `conversation`, fed turn by turn. The subject's values are read when the stream
        opens; `windows` (see `payment_windows`) at each turn."""
        known, tokenize = self._for(tenant, subject, by)
        return self.redactor.stream(
            language=language,
            modes=modes,
            default=default,
            known=known,
            tokenize=tokenize,
            windows=windows,
        )

    def payment_windows(self, tenant: str, payments: Sequence[str] = ()) -> PaymentWindows:
        if self.phone is None:
            raise RedactionError("payments are not wired into this redaction service")
        windows = PaymentWindows(self.phone, tenant)
        for payment in payments:
            windows.follow(payment)
        return windows

    def _windows(self, tenant: str, payments: Sequence[str]) -> list[NumberWindow]:
        return list(self.payment_windows(tenant, payments)()) if payments else []

    def _for(
        self, tenant: str, subject: str | None, by: Caller | None = None
    ) -> tuple[list[KnownValue], Tokenizer]:
        check_tenant(tenant)
        known: list[KnownValue] = []
        if subject is not None:
            subject = check_subject(subject)
            tokens = [
                t
                for t in self.vault.subject_tokens(tenant, subject)
                if t.category.value in _KNOWN_CATEGORIES
            ]
            if tokens and self.audit is not None:
                self.audit.record([_lookup_record(tenant, subject, tokens, by)])
            values = (
                self.vault.detokenize_batch(tenant, [t.token for t in tokens]) if tokens else []
            )
            known = [
                KnownValue(_KNOWN_CATEGORIES[t.category.value], v.value)
                for t, v in zip(tokens, values, strict=True)
            ]

        def tokenize(category: str, value: str) -> str:
            try:
                return self.vault.tokenize(tenant, value, category=category, subject=subject).token
            except InvalidValue:
                # Not a valid value of its category (a spoken card the vault refuses): no
                # token can stand for it, so its type does.
                return f"<{category.upper()}>"

        return known, tokenize


def _lookup_record(
    tenant: str, subject: str, tokens: Sequence[TokenRecord], by: Caller | None
) -> AuditRecord:
    """What the DPO and the subject see of a lookup: who, which tokens, for redaction."""
    return AuditRecord(
        tenant,
        "access",
        {
            "caller": by.key_id if by else "operator",
            "caller_kind": by.kind if by else "operator",
            "action": "redact",
            "purpose": "redaction",
            "categories": sorted({t.category.value for t in tokens}),
            "tokens": [t.token for t in tokens],
            "outcome": "allow",
            "reason": "the subject's own values, read to find them in a transcript; none released",
            "policies": [],
            "released": 0,
        },
        subject=subject,
    )


class PaymentWindows:
    """The keypad windows of the payments taken in a conversation, read when asked: in a live
    call, the payment and its keypad come after the stream opened."""

    def __init__(self, phone: PhonePayments, tenant: str) -> None:
        self._phone = phone
        self._tenant = tenant
        self.payments: list[str] = []

    def follow(self, payment: str) -> None:
        """Add a payment taken in this conversation (checked: it is the tenant's)."""
        if payment in self.payments:
            return
        if len(self.payments) >= MAX_PAYMENTS:
            raise RedactionError(f"at most {MAX_PAYMENTS} payments in one conversation")
        self._phone.windows(self._tenant, payment)
        self.payments.append(payment)

    def __call__(self) -> list[NumberWindow]:
        return [
            NumberWindow(
                w.opened_at,
                w.closed_at,
                f"said while {w.payment_id}'s voice PIN was asked"
                if w.keypad_id.startswith("pin_")
                else f"said while {w.payment_id}'s keypad was open",
            )
            for payment in self.payments
            for w in self._phone.windows(self._tenant, payment)
        ]


_tracer = trace.get_tracer("tessera.redaction")


def _count(done: Sequence[Redacted]) -> None:
    """Utterances and findings by entity type, for `/metrics` (never what was found)."""
    REDACTION_UTTERANCES.inc(len(done))
    for redacted in done:
        for finding in redacted.findings:
            REDACTION_FINDINGS.labels(finding.entity).inc()
