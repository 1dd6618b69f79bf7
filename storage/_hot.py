"""Hot statements: SQL written by SQLAlchemy once, run on the driver's cursor every time.

SQLAlchemy's Core execution spends some 30 µs of Python per statement (execution context,
result metadata, row objects); on the gateway's path of five statements that was more than
the database's own work, under the GIL that every request shares. A `HotStatement` keeps what
SQLAlchemy is for (the SQL for each dialect, the types' conversions, its exceptions) and drops
the per-execution machinery. It is for the few statements run on every access; everything
else stays on plain SQLAlchemy.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, NoResultFound
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["HotStatement"]

_Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Plan:
    """A statement as one dialect runs it."""

    sql: str
    names: tuple[str, ...] | None  # parameter order for a positional driver, else None
    defaults: Mapping[str, Any]  # values written into the statement (`.values(size=0)`)
    binds: tuple[tuple[str, _Processor], ...]  # parameters the driver cannot take as they are
    row: Any  # a named tuple of the returned columns, or None
    results: tuple[_Processor | None, ...] | None  # per returned column, when any converts


class HotStatement:
    """A Core statement (select, insert, update; no expanding IN) run without a Result.

    Rows are named tuples, converted as SQLAlchemy would (SQLite's DateTime text becomes a
    datetime, and so on); driver errors are raised as SQLAlchemy's, with the parameters hidden.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._plans: dict[Dialect, _Plan] = {}
        self._lock = threading.Lock()

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect)
        if plan is None:
            with self._lock:
                plan = self._plans.get(dialect) or self._compile(dialect)
                self._plans[dialect] = plan
        return plan

    def _compile(self, dialect: Dialect) -> _Plan:
        compiled = cast(SQLCompiler, self.statement.compile(dialect=dialect))
        binds = compiled.binds
        if any(b.expanding for b in binds.values()):
            raise ValueError("a hot statement cannot hold an expanding IN")
        processors = []
        for name, bind in binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors.append((name, process))
        columns = list(getattr(self.statement, "exported_columns", ()))
        row: Any = None
        results = None
        if columns:
            # A named tuple whose fields are the statement's columns, known only at run time.
            make_row: Callable[..., Any] = namedtuple
            row = make_row("Row", [c.key for c in columns])
            found = tuple(
                c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
            )
            results = found if any(found) else None
        return _Plan(
            sql=compiled.string,
            names=tuple(compiled.positiontup or ()) if compiled.positional else None,
            defaults={n: b.effective_value for n, b in binds.items() if not b.required},
            binds=tuple(processors),
            row=row,
            results=results,
        )

    # ------------------------------------------------------------------ running
    def all(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        with self._cursor(conn) as (plan, cursor):
            _run(conn.dialect, cursor, plan.sql, self._parameters(plan, params))
            return self._rows(plan, cursor.fetchall())

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Any | None:
        with self._cursor(conn) as (plan, cursor):
            _run(conn.dialect, cursor, plan.sql, self._parameters(plan, params))
            found = cursor.fetchmany(1)
            return self._rows(plan, found)[0] if found else None

    def one(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        rows = self.all(conn, params)
        if len(rows) != 1:
            raise NoResultFound(f"expected one row, got {len(rows)}")
        return rows[0]

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Run a write; returns how many rows it touched."""
        with self._cursor(conn) as (plan, cursor):
            _run(conn.dialect, cursor, plan.sql, self._parameters(plan, params))
            return int(cursor.rowcount)

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        with self._cursor(conn) as (plan, cursor):
            parameters = [self._parameters(plan, row) for row in rows]
            _run(conn.dialect, cursor, plan.sql, parameters, many=True)

    # ------------------------------------------------------------------ internals
    @contextmanager
    def _cursor(self, conn: Connection) -> Iterator[tuple[_Plan, Any]]:
        dialect = conn.dialect
        plan = self._plan(dialect)
        proxied = conn.connection
        cursor = proxied.cursor()
        try:
            yield plan, cursor
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, proxied.dbapi_connection, cursor):
                conn.invalidate(exc)
            raise DBAPIError.instance(
                plan.sql, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True
            ) from exc
        finally:
            cursor.close()

    @staticmethod
    def _parameters(plan: _Plan, given: Mapping[str, Any]) -> Any:
        values = {**plan.defaults, **given} if plan.defaults else dict(given)
        for name, process in plan.binds:
            values[name] = process(values[name])
        if plan.names is None:
            return values
        return tuple(values[name] for name in plan.names)

    @staticmethod
    def _rows(plan: _Plan, fetched: Sequence[Any]) -> list[Any]:
        make = plan.row._make
        if plan.results is None:
            return [make(r) for r in fetched]
        processors = plan.results
        return [
            make(v if p is None else p(v) for p, v in zip(processors, r, strict=True))
            for r in fetched
        ]


def _run(dialect: Dialect, cursor: Any, sql: str, parameters: Any, *, many: bool = False) -> None:
    """The driver's execute, through the dialect's `do_execute` events when it has any (a
    tracer's span per statement), as SQLAlchemy's own execution runs them: one that returns
    True has run the statement itself."""
    events = dialect.dispatch.do_executemany if many else dialect.dispatch.do_execute
    if events:
        for handle in events:
            if handle(cursor, sql, parameters, None):
                return
    if many:
        cursor.executemany(sql, parameters)
    else:
        cursor.execute(sql, parameters)
