"""Hot statements read and write exactly what SQLAlchemy would, on the database under test."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, NoResultFound

from tessera.storage import Database, HotStatement, as_utc
from tests.conftest import Stores

_META = MetaData()
_THINGS = Table(
    "hot_things",
    _META,
    Column("tenant_id", String(64), primary_key=True),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("label", String(64), nullable=True),
    Column("at", DateTime, nullable=False),
    Column("blob", LargeBinary, nullable=False),
)
_INSERT = HotStatement(_THINGS.insert().values({c.key: bindparam(c.key) for c in _THINGS.columns}))
_BY_TENANT = HotStatement(
    select(_THINGS.c.id, _THINGS.c.label, _THINGS.c.at, _THINGS.c.blob)
    .where(_THINGS.c.tenant_id == bindparam("tenant"))
    .order_by(_THINGS.c.id)
)
_ONE = HotStatement(
    select(_THINGS.c.label, _THINGS.c.at).where(
        _THINGS.c.tenant_id == bindparam("tenant"), _THINGS.c.id == bindparam("id")
    )
)
_RELABEL = HotStatement(
    update(_THINGS)
    .where(_THINGS.c.tenant_id == bindparam("tenant"))
    .values(label=bindparam("new_label"))
    .returning(_THINGS.c.id, _THINGS.c.label)
)
# A value written into the statement, beside the parameters.
_INSERT_UNNAMED = HotStatement(
    insert(_THINGS).values(
        tenant_id=bindparam("tenant"),
        id=bindparam("id"),
        label="unnamed",
        at=bindparam("at"),
        blob=bindparam("blob"),
    )
)

AT = dt.datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)


@pytest.fixture
def db(fresh_stores: Stores) -> Iterator[Database]:
    _META.create_all(fresh_stores.data.engine)
    yield fresh_stores.data
    _META.drop_all(fresh_stores.data.engine)


def _rows(n: int, tenant: str = "t1") -> list[dict]:
    return [
        {
            "tenant_id": tenant,
            "id": i,
            "label": None if i == 0 else f"label {i}",
            "at": AT + dt.timedelta(seconds=i),
            "blob": bytes([i, 0, 255]),
        }
        for i in range(n)
    ]


def test_rows_written_hot_read_back_as_sqlalchemy_reads_them(db: Database) -> None:
    with db.begin() as conn:
        _INSERT.execute_many(conn, _rows(3))
    with db.read() as conn:
        plain = conn.execute(
            select(_THINGS.c.id, _THINGS.c.label, _THINGS.c.at, _THINGS.c.blob)
            .where(_THINGS.c.tenant_id == "t1")
            .order_by(_THINGS.c.id)
        ).all()
        hot = _BY_TENANT.all(conn, {"tenant": "t1"})
    assert [tuple(r) for r in hot] == [tuple(r) for r in plain]
    assert [as_utc(r.at) for r in hot] == [AT + dt.timedelta(seconds=i) for i in range(3)]
    assert [bytes(r.blob) for r in hot] == [bytes([i, 0, 255]) for i in range(3)]
    assert hot[0].label is None


def test_rows_written_by_sqlalchemy_read_hot_alike(db: Database) -> None:
    with db.begin() as conn:
        conn.execute(insert(_THINGS), _rows(2, "t2"))
    with db.read() as conn:
        row = _ONE.one(conn, {"tenant": "t2", "id": 1})
        plain = conn.execute(
            select(_THINGS.c.label, _THINGS.c.at).where(
                _THINGS.c.tenant_id == "t2", _THINGS.c.id == 1
            )
        ).one()
    assert tuple(row) == tuple(plain)
    assert row.label == "label 1"


def test_first_one_and_nothing_found(db: Database) -> None:
    with db.read() as conn:
        assert _ONE.first(conn, {"tenant": "nobody", "id": 1}) is None
        assert _BY_TENANT.all(conn, {"tenant": "nobody"}) == []
        with pytest.raises(NoResultFound):
            _ONE.one(conn, {"tenant": "nobody", "id": 1})


def test_update_returning_and_rowcount(db: Database) -> None:
    with db.begin() as conn:
        _INSERT.execute_many(conn, _rows(2, "t3"))
    with db.begin() as conn:
        returned = _RELABEL.all(conn, {"tenant": "t3", "new_label": "same"})
    assert sorted(tuple(r) for r in returned) == [(0, "same"), (1, "same")]
    with db.begin() as conn:
        touched = HotStatement(
            update(_THINGS).where(_THINGS.c.tenant_id == bindparam("tenant")).values(label=None)
        ).execute(conn, {"tenant": "t3"})
    assert touched == 2


def test_values_written_into_the_statement_are_sent(db: Database) -> None:
    with db.begin() as conn:
        _INSERT_UNNAMED.execute(conn, {"tenant": "t4", "id": 7, "at": AT, "blob": b"x"})
    with db.read() as conn:
        assert _ONE.one(conn, {"tenant": "t4", "id": 7}).label == "unnamed"


def test_a_failed_write_raises_sqlalchemys_error_and_rolls_back(db: Database) -> None:
    with db.begin() as conn:
        _INSERT.execute_many(conn, _rows(1, "t5"))
    with pytest.raises(IntegrityError) as raised, db.begin() as conn:
        _INSERT.execute_many(conn, [{**_rows(2, "t5")[1], "label": "lost"}])
        _INSERT.execute_many(conn, [{**_rows(1, "t5")[0], "label": "s3cret"}])  # duplicate
    assert "s3cret" not in str(raised.value)  # parameters stay out of the message
    with db.read() as conn:
        assert [r.id for r in _BY_TENANT.all(conn, {"tenant": "t5"})] == [0]


def test_an_expanding_in_is_refused(db: Database) -> None:
    hot = HotStatement(
        select(_THINGS.c.id).where(_THINGS.c.id.in_(bindparam("ids", expanding=True)))
    )
    with db.read() as conn, pytest.raises(ValueError, match="expanding"):
        hot.all(conn, {"ids": [1]})


def test_hot_statements_run_through_the_dialects_execution_events(db: Database) -> None:
    """A tracer hooks the dialect's `do_execute` events: hot statements honour them as
    SQLAlchemy's own execution does. A listener that returns True has run the statement
    itself (it is not run twice); one that returns None leaves it to the driver."""
    from sqlalchemy import event

    seen: list[tuple[str, bool]] = []
    dialect = db.engine.dialect

    def one(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
        seen.append((statement.split()[0], False))
        if statement.startswith("SELECT"):
            return None  # the driver runs it
        dialect.do_execute(cursor, statement, parameters, context)
        return True

    def many(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        seen.append((statement.split()[0], True))
        dialect.do_executemany(cursor, statement, parameters, context)
        return True

    event.listen(db.engine, "do_execute", one)
    event.listen(db.engine, "do_executemany", many)
    try:
        with db.begin() as conn:
            _INSERT.execute_many(conn, _rows(2, "t6"))
            _INSERT_UNNAMED.execute(conn, {"tenant": "t6", "id": 9, "at": AT, "blob": b"x"})
        with db.read() as conn:
            rows = _BY_TENANT.all(conn, {"tenant": "t6"})
    finally:
        event.remove(db.engine, "do_execute", one)
        event.remove(db.engine, "do_executemany", many)
    assert seen == [("INSERT", True), ("INSERT", False), ("SELECT", False)]
    assert [(r.id, r.label) for r in rows] == [(0, None), (1, "label 1"), (9, "unnamed")]
