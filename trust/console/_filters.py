"""Reading a search form: who (an e-mail or phone number matched through the vault's blind
index, a token, or a subject id), periods as days, a cursor; and what of it is recorded with
the act of oversight (what kind of "who", never its value)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from tessera.trust._services import Services
from tessera.vault import DataCategory, InvalidValue, VaultError

__all__ = [
    "Who",
    "cursor",
    "is_identifier",
    "period",
    "subjects_of_identifier",
    "text",
    "who_of",
]

_TOKEN = "tok_"  # noqa: S105 (the prefix of a vault token, not a secret)


@dataclass(frozen=True, slots=True)
class Who:
    """The subjects a "who" names (None: anyone), and how it was given (for the record)."""

    subjects: tuple[str, ...] | None
    given_as: str | None

    @property
    def one(self) -> str:
        """The subject the act of oversight is about, when it is exactly one."""
        return self.subjects[0] if self.subjects and len(self.subjects) == 1 else ""


def is_identifier(given: str) -> bool:
    """An e-mail address or a phone number: a personal value, never put in an address."""
    return "@" in given or given.strip().startswith("+")


def subjects_of_identifier(services: Services, tenant: str, given: str) -> tuple[str, ...]:
    """The subjects an e-mail or phone number names, through the vault's blind index."""
    category = DataCategory.EMAIL if "@" in given else DataCategory.PHONE
    try:
        found = services.vault.find(tenant, given.strip()[:200], category=category)
    except VaultError:
        return ()
    return tuple(sorted({r.subject for r in found if r.subject}))


def who_of(services: Services, tenant: str, given: str) -> Who:
    """A "who" in a search's address: a token or a subject id (an identifier is posted, and
    the page comes back with the subject it names)."""
    given = given.strip()[:200]
    if not given:
        return Who(None, None)
    if is_identifier(given):
        raise InvalidValue("an e-mail or a phone number is searched through the form")
    if given.startswith(_TOKEN):
        try:
            records = services.vault.describe(tenant, [given])
        except VaultError:
            return Who((), "token")
        return Who(tuple(sorted({r.subject for r in records if r.subject})), "token")
    if len(given) > 128 or not given.isprintable():
        raise InvalidValue("a subject id is at most 128 printable characters")
    return Who((given,), "subject")


def text(form: Mapping[str, str], name: str, limit: int = 128) -> str | None:
    value = form.get(name, "").strip()
    if len(value) > limit:
        raise InvalidValue(f"{name} is at most {limit} characters")
    return value or None


def _day(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)
    except ValueError:
        raise InvalidValue(f"{name} is a day, such as 2026-12-01") from None


def period(form: Mapping[str, str]) -> tuple[dt.datetime | None, dt.datetime | None]:
    """From the start of `since` to the end of `until` (days, UTC)."""
    since = _day(text(form, "since", 10), "since")
    until = _day(text(form, "until", 10), "until")
    if until is not None:
        until += dt.timedelta(days=1)
    if since is not None and until is not None and until <= since:
        raise InvalidValue("the period ends before it starts")
    return since, until


def cursor(form: Mapping[str, str]) -> int | None:
    value = form.get("before", "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise InvalidValue("before is an entry number")
    return int(value)
