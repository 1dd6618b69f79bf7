"""The server's logs: one JSON object a line (or plain text on a terminal), every logger's
lines through the same handler, uvicorn's included, and a filter that keeps personal values
and SQL statement parameters out whatever a library chose to log."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from typing import Any, TextIO

from ._context import REQUEST_ID, TENANT

__all__ = ["JsonLines", "PersonalDataFilter", "TextLines", "configure_logging", "log_format"]

# What a personal value looks like in free text: an e-mail address, a phone number, a run of
# card-like digits, an IBAN. A line that holds one has it replaced, whoever logged it.
_PERSONAL = re.compile(
    r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+"
    r"|(?<![\w])\+?\d(?:[ .\-]?\d){8,18}(?![\w])"
    r"|\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"
)
_SHOWN = "[redacted]"
# Loggers whose INFO lines are statements with their parameters (SQLAlchemy's echo).
_STATEMENTS = ("sqlalchemy.engine", "sqlalchemy.pool")


class PersonalDataFilter(logging.Filter):
    """Drop statement logs; replace what looks like a personal value in every other line.
    The message is rendered here, once: its arguments never reach a formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(_STATEMENTS) and record.levelno < logging.WARNING:
            return False
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: say so without its arguments
            message = str(record.msg)
        record.msg, record.args = _PERSONAL.sub(_SHOWN, message), None
        # A traceback carries the frames' values: only the exception's type is kept.
        if record.exc_info and record.exc_info[0] is not None:
            record.msg = f"{record.msg} ({record.exc_info[0].__name__})"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def _context() -> dict[str, str]:
    found = {"request_id": REQUEST_ID.get(), "tenant": TENANT.get()}
    return {k: v for k, v in found.items() if v}


class JsonLines(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id", "tenant"}`, one a line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_context(),
        }
        return json.dumps(entry, ensure_ascii=False)


class TextLines(logging.Formatter):
    """The same facts for a person at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        at = dt.datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        where = " ".join(f"{k}={v}" for k, v in _context().items())
        return f"{at} {record.levelname:<7} {record.name}: {record.getMessage()}" + (
            f" [{where}]" if where else ""
        )


def log_format(chosen: str | None, stream: TextIO) -> str:
    """JSON unless chosen otherwise, or text when a person reads the terminal."""
    if chosen:
        return chosen
    return "text" if stream.isatty() else "json"


def configure_logging(level: str, chosen: str | None, stream: TextIO | None = None) -> None:
    """One handler on the root logger, for Tessera's loggers, uvicorn's and the libraries'."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(JsonLines() if log_format(chosen, stream) == "json" else TextLines())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        server = logging.getLogger(name)
        server.handlers.clear()
        server.propagate = True
