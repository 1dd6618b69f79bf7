"""The engine never shows a statement's parameters: they are customers' values."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import Stores


def test_a_failed_statement_does_not_show_its_parameters(shared_stores: Stores) -> None:
    with pytest.raises(DBAPIError) as failed, shared_stores.data.begin() as conn:
        conn.execute(
            text("INSERT INTO no_such_table (value) VALUES (:value)"),
            {"value": "jean.dupont@example.fr"},
        )
    assert "jean.dupont" not in str(failed.value)
    assert "hidden" in str(failed.value).lower()
