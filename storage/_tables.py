"""The SQLAlchemy `Table` of a SQLModel class, typed: SQLModel sets `__table__` at class
creation, where no type checker sees it, and Core statements want the table, not the model."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table
from sqlmodel import SQLModel

__all__ = ["table_of"]


def table_of(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]  # set by SQLModel's metaclass
