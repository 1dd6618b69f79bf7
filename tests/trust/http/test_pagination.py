"""Every list answers a page at a time: `limit` and `cursor` in, `data` and `next_cursor` out,
the pages together the whole list once; a cursor that is not the list's own is a 422."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tessera.trust import PROBLEM_JSON


def _walk(client: TestClient, path: str, headers: dict[str, str], limit: int) -> list[list]:
    pages, cursor = [], None
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        answer = client.get(path, params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"data", "next_cursor"}
        pages.append(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50


def test_pages_cover_the_list_once(client: TestClient, auth: dict[str, str]) -> None:
    whole = client.get("/v1/purposes", headers=auth).json()
    assert whole["next_cursor"] is None and len(whole["data"]) == 9
    pages = _walk(client, "/v1/purposes", auth, 4)
    assert [len(p) for p in pages] == [4, 4, 1]
    assert [p["id"] for page in pages for p in page] == [p["id"] for p in whole["data"]]


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "!!"},  # not a cursor at all
        {"cursor": "czo1"},  # a log's cursor ("s:5"), given to a short list
        {"cursor": "bzotMQ"},  # a negative position
        {"cursor": "x" * 65},  # too long
        {"limit": 0},
        {"limit": 501},
        {"limit": "ten"},
    ],
)
def test_a_cursor_or_limit_that_is_not_one_is_a_422(
    client: TestClient, auth: dict[str, str], params: dict
) -> None:
    answer = client.get("/v1/purposes", params=params, headers=auth)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)


def test_every_list_operation_is_paginated(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    lists = 0
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if get is None or not path.startswith("/v1/"):
            continue
        schema = get["responses"]["200"]["content"].get("application/json", {}).get("schema", {})
        if schema.get("type") == "array":
            raise AssertionError(f"{path} answers a bare list")
        names = {p["name"] for p in get.get("parameters", [])}
        if "cursor" in names:
            assert "limit" in names, path
            lists += 1
    assert lists >= 13
