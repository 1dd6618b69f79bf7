"""One check that a secret (a security code, a PIN, a card number) is shown nowhere in a
response or a stored row, without tripping on the random ids, tokens and timestamps beside it.

A plain substring test against the whole text fails now and then: "123" turns up in a random id
or in a timestamp's microseconds. Here each value is checked apart, and the values that are
random by construction (ids, tokens, times) are left out; their shape is checked elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

_RANDOM_KEY = re.compile(r"(^|_)(id|token|at|seq|nonce|key_id|challenge_id)$")
_RANDOM_VALUE = re.compile(
    r"^(?:[a-z]{2,5}_[\w-]{8,}|\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)?|tok_\S+)$"
)


def _values(payload: Any, key: str = "") -> Iterator[str]:
    if isinstance(payload, Mapping):
        for k, v in payload.items():
            yield str(k)
            if not _RANDOM_KEY.search(str(k)):
                yield from _values(v, str(k))
    elif isinstance(payload, list | tuple):
        for item in payload:
            yield from _values(item, key)
    elif payload is not None:
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
        if not _RANDOM_VALUE.match(text):
            yield text


def assert_not_shown(secret: str, payload: Any) -> None:
    """`payload`: a dict, a list, or a JSON text (a response's body)."""
    if isinstance(payload, str):
        with contextlib.suppress(ValueError):  # not JSON: checked as one text
            payload = json.loads(payload)
    for value in _values(payload):
        assert secret not in value, f"{secret!r} shown in {value[:80]!r}"


# ---------------------------------------------------------------------- the sweep of a whole run
# The personal values the tests use, in the forms they use them. The sweep at the end of a run
# (tests/conftest.py) looks for each in every log record of the run, server processes included,
# and in every file the run left beside its stores: it must find none.
PERSONAL_VALUES = (
    "4970101234567893",
    "4970 1012 3456 7893",
    "4242424242424242",
    "4242 4242 4242 4242",
    "4000056655665556",
    "jean@example.fr",
    "jean.dupont@example.fr",
    "jean.dupont@example.com",
    "jean.rectified@example.com",
    "marie@example.fr",
    "mine@example.fr",
    "new@example.fr",
    "+33612345678",
    "0612345678",
    "06 12 34 56 78",
    "+33 6 12 34 56 78",
    "+33611223344",
    "FR7630006000011234567890189",
    "FR76 3000 6000 0112 3456 7890 189",
    "Jean Dupont",
)
# Files a run leaves that are not Tessera's to keep: the encrypted stores themselves, and the
# inputs the tests hand in (by convention under `in/` or named `in.*`).
_STORES = (".db", ".db-wal", ".db-shm", ".db-journal")


def _is_input(path: Path) -> bool:
    return "in" in path.parts[:-1] or path.stem == "in"


# Secrets the run makes: API keys (random, so found by their shape) and the keyring passphrase.
_SECRETS = re.compile(r"tsk_[a-z2-7]{16}_[a-z2-7]{32}|correct horse battery staple")


def personal_values_in(text: str) -> list[str]:
    found = [value for value in PERSONAL_VALUES if value in text]
    return found + sorted({f"secret {m[:8]}…" for m in _SECRETS.findall(text)})


def sweep(logs: Path, left: Path) -> list[str]:
    """Every log file under `logs` and every file under `left` (but stores and test inputs)
    that holds a personal value of the registry: "path: values"."""
    hits = []
    files = [p for p in sorted(logs.rglob("*")) if p.is_file()]
    files += [
        p
        for p in sorted(left.rglob("*"))
        if p.is_file()
        and not p.name.endswith(_STORES)
        and p.name != "keyring.json"
        and not _is_input(p.relative_to(left))
        and logs not in p.parents
    ]
    for path in files:
        try:
            text = path.read_text("utf-8", "replace")
        except OSError:
            continue
        if found := personal_values_in(text):
            hits.append(f"{path}: {', '.join(found)}")
    return hits
