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
