"""Re-identification: a text that holds Tessera tokens (an AI summary written from a tokenized
transcript) with each token replaced by what the caller's policies allow for the purpose.

Bots and summarizers are given transcripts in token mode, so nothing personal reaches them; what
they write comes back here before a person reads it. Each token is one gateway access, decided
and recorded like any other: clear if the policies allow `detokenize` (only when the caller gave
the end user's auth context and asked for clear), else masked if they allow `read_masked`, else
the token stays. A token the tenant does not hold (unknown, erased, another tenant's) stays as it
is and is not an access: nothing was read.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from stdnum import luhn

from tessera.consent import Channel
from tessera.policies import Action, Assurance, PolicyOutcome
from tessera.trust.identity import Caller
from tessera.vault import InvalidToken, InvalidValue

from ._gateway import AccessRequest, AccessResult, AuthContext, Gateway, _parse

__all__ = ["MAX_REIDENTIFY_CHARS", "MAX_REIDENTIFY_TOKENS", "Form", "Reidentified", "Replacement"]

MAX_REIDENTIFY_CHARS = 100_000  # a long summary or a whole tokenized transcript
MAX_REIDENTIFY_TOKENS = 100  # distinct tokens in one text: each is an access and a record

# Opaque tokens, and PAN tokens (12 to 19 digits that fail Luhn) standing alone: a digit run
# inside a longer one, or glued to letters, is something else.
_TOKEN = re.compile(r"(?<![\w])(tok_[0-9a-f]{32}|\d{12,19})(?![\w])")


class Form(enum.StrEnum):
    """What a token became: the value in clear, its display form, or still the token."""

    CLEAR = "clear"
    MASKED = "masked"
    TOKEN = "token"  # noqa: S105  (a vault token, left as it was)


@dataclass(frozen=True, slots=True)
class Replacement:
    """One distinct token of the text and what the gateway decided for it."""

    token: str
    form: Form
    occurrences: int
    category: str | None = None  # None: not a token of this tenant
    reason: str = ""
    policy_ids: tuple[str, ...] = ()
    audit_seqs: tuple[int, ...] = ()  # every decision taken for it, in order
    required_assurance: Assurance | None = None  # the step-up that would show it in clear


@dataclass(frozen=True, slots=True)
class Reidentified:
    text: str
    replacements: tuple[Replacement, ...]


def tokens_in(text: str) -> dict[str, int]:
    """The distinct token-shaped strings of a text, in order, and how often each stands in it;
    a digit run that passes Luhn is a card number, never a token (PAN tokens are made to fail
    it), so it is not looked up."""
    counts: dict[str, int] = {}
    for match in _TOKEN.finditer(text):
        token = match.group(1)
        if token[0].isdigit() and luhn.is_valid(token):
            continue
        counts[token] = counts.get(token, 0) + 1
    return counts


def reidentify(
    gateway: Gateway,
    caller: Caller,
    text: str,
    *,
    purpose: str,
    channel: Channel | str,
    auth: AuthContext | None = None,
    most: Form | str = Form.CLEAR,
) -> Reidentified:
    """`most`: the most the caller wants shown (`masked` for a bot reading a summary back);
    clear is tried only with `auth`, the end user's session, since detokenizing needs it."""
    if not isinstance(text, str):
        raise InvalidValue(f"text must be a string, not {type(text).__name__}")
    if len(text) > MAX_REIDENTIFY_CHARS:
        raise InvalidValue(f"a text to re-identify holds at most {MAX_REIDENTIFY_CHARS} characters")
    most = _parse(Form, most, "form")
    # Checked even when the text holds no token: a bad request is refused whatever it holds.
    channel = _parse(Channel, channel, "channel")
    gateway.catalogue.get(caller.tenant, purpose)
    found = tokens_in(text)
    if len(found) > MAX_REIDENTIFY_TOKENS:
        raise InvalidValue(f"a text to re-identify holds at most {MAX_REIDENTIFY_TOKENS} tokens")
    wanted = []
    if most is Form.CLEAR and auth is not None:
        wanted.append(Action.DETOKENIZE)
    if most is not Form.TOKEN:
        wanted.append(Action.READ_MASKED)

    replacements: dict[str, Replacement] = {}
    values: dict[str, str] = {}
    for token, occurrences in found.items():
        replacement, value = _one(
            gateway, caller, token, occurrences, wanted, purpose, channel, auth
        )
        replacements[token] = replacement
        if value is not None:
            values[token] = value

    def swap(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return Reidentified(_TOKEN.sub(swap, text), tuple(replacements.values()))


def _one(
    gateway: Gateway,
    caller: Caller,
    token: str,
    occurrences: int,
    wanted: list[Action],
    purpose: str,
    channel: Channel | str,
    auth: AuthContext | None,
) -> tuple[Replacement, str | None]:
    seqs: list[int] = []
    last: AccessResult | None = None
    step_up: Assurance | None = None
    for action in wanted:
        try:
            result = gateway.access(
                caller,
                AccessRequest(
                    action=action,
                    purpose=purpose,
                    channel=channel,
                    tokens=(token,),
                    auth=auth if action is Action.DETOKENIZE else None,
                ),
            )
        except InvalidToken:
            replacement = Replacement(
                token, Form.TOKEN, occurrences, reason="not a token of this tenant"
            )
            return replacement, None
        if result.audit_seq is not None:
            seqs.append(result.audit_seq)
        last = result
        if result.outcome is PolicyOutcome.STEP_UP:
            step_up = result.required_assurance
        if result.allowed and result.items:
            item = result.items[0]
            form = Form.CLEAR if action is Action.DETOKENIZE else Form.MASKED
            return (
                Replacement(
                    token,
                    form,
                    occurrences,
                    category=item.category,
                    reason=result.reason,
                    policy_ids=result.policy_ids,
                    audit_seqs=tuple(seqs),
                    required_assurance=step_up if form is Form.MASKED else None,
                ),
                item.value,
            )
    return (
        Replacement(
            token,
            Form.TOKEN,
            occurrences,
            category=_category_of(gateway, caller, token) if last else None,
            reason=last.reason if last else "the caller asked to keep the tokens",
            policy_ids=last.policy_ids if last else (),
            audit_seqs=tuple(seqs),
            required_assurance=step_up,
        ),
        None,
    )


def _category_of(gateway: Gateway, caller: Caller, token: str) -> str | None:
    """A refused token's category (no value is opened), so the reader knows what it hides."""
    try:
        return gateway.vault.fetch(caller.tenant, [token])[0].record.category.value
    except InvalidToken:
        return None
