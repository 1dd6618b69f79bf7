"""The `tessera` command line: one module per command group; each command imports what it
needs when it runs, so that `tessera --help` starts at once."""

from __future__ import annotations

from ._app import app, main

__all__ = ["app", "main"]
