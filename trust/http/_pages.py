"""Lists answer a page at a time: `limit` and `cursor` in, `data` and `next_cursor` out
(Stripe's convention), `next_cursor` null on the last page. A cursor is opaque to callers:
a position in a short list, or the log position to go on from in the logs."""

from __future__ import annotations

import binascii
from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from tessera import b64url_decode, b64url_encode
from tessera.vault import InvalidValue

__all__ = [
    "CursorQuery",
    "LimitQuery",
    "Page",
    "cursor_for",
    "page_of",
    "position_of",
]

T = TypeVar("T")

MAX_LIMIT = 500
LimitQuery = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"items per page (1-{MAX_LIMIT})")
]
CursorQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the `next_cursor` of the previous page; absent for the first page",
    ),
]


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(description="the next page's cursor; null on the last page")


def cursor_for(kind: str, position: int) -> str:
    return b64url_encode(f"{kind}:{position}".encode())


def position_of(cursor: str | None, kind: str) -> int | None:
    """The position a cursor names; a cursor that is not one of ours is a 422."""
    if cursor is None:
        return None
    try:
        found_kind, _, number = b64url_decode(cursor).decode("ascii").partition(":")
        position = int(number)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidValue("the cursor is not one this list gave") from None
    if found_kind != kind or position < 0:
        raise InvalidValue("the cursor is not one this list gave")
    return position


def page_of(items: Sequence[Any], limit: int, cursor: str | None) -> dict[str, Any]:
    """One page of a short list read whole (a catalogue, a customer's factors)."""
    start = position_of(cursor, "o") or 0
    chosen = list(items[start : start + limit])
    more = start + limit < len(items)
    return {"data": chosen, "next_cursor": cursor_for("o", start + limit) if more else None}
