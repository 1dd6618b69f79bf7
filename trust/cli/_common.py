"""What every command group shares: the consoles, progress, and the services of one invocation.

Nothing heavy is imported here: `tessera --help` must not load FastAPI, SQLAlchemy or spaCy.
Each command imports what it needs when it runs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from rich.console import Console

if TYPE_CHECKING:
    from tessera.trust._services import Services
    from tessera.trust._settings import Settings

__all__ = [
    "JsonOpt",
    "TenantOpt",
    "err",
    "every_region",
    "listing",
    "open_services",
    "operator",
    "out",
    "progress",
]

out = Console()
err = Console(stderr=True)

TenantOpt = Annotated[str, typer.Option("--tenant", help="The tenant.")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="One JSON document on stdout, for scripts and jq.")
]


def listing(
    rows: Sequence[Mapping[str, Any]], *, as_json: bool, whole: Sequence[str] = ("id",)
) -> None:
    """Rows as a table for a person, or as JSON with `--json`. The `whole` columns (ids, that
    an operator copies into the next command) are never cut to fit the terminal."""
    if as_json:
        print(json.dumps(list(rows), default=str, ensure_ascii=False, indent=2))
        return
    from rich.table import Column, Table

    if not rows:
        err.print("nothing to list")
        return
    names = list(rows[0])
    widths = {n: max(len(n), *(len(_cell(r.get(n))) for r in rows)) for n in names}
    table = Table(
        *(
            Column(n, no_wrap=True, min_width=widths[n])
            if n in whole
            else Column(n, overflow="fold")
            for n in names
        )
    )
    for row in rows:
        table.add_row(*(_cell(row.get(n)) for n in names))
    out.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(v) for v in value)
    return str(value)


@contextmanager
def progress(verb: str, title: str, *, unit: str = "") -> Iterator[Callable[[int, int], None]]:
    """A progress bar on a terminal; elsewhere (CI, logs) one plain line per step."""
    if not sys.stderr.isatty():

        def line(done: int, total: int) -> None:
            print(f"{verb} {done}/{total}{unit}", file=sys.stderr, flush=True)

        yield line
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn(title), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
    )
    task = bar.add_task(title, total=None)
    with bar:
        yield lambda done, total: bar.update(task, completed=done, total=total)


def operator() -> str:
    """Who acts, for the audit trail of what the CLI changes: the account that runs it."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no such account in a container's passwd
        return "cli:unknown"


def every_region() -> list[tuple[str, Services]]:
    """Each region's services (this deployment's own first), for the commands that act on
    every tenant: key rotation, expiries, retention, the list of tenants."""
    from tessera.trust._settings import Settings

    home = Settings()
    return [(name, _built(home.for_region(name))) for name in home.region_names]


def open_services(tenant: str | None = None) -> Services:
    """The services of this invocation, from `TESSERA_*` settings; closed when it ends (the
    same process may run several invocations: the tests, or a program embedding the CLI).
    For a tenant pinned to a region, that region's: its data and keys are kept only there."""
    from tessera.trust._settings import Settings

    settings = Settings()
    return _built(settings if tenant is None else settings.for_tenant(tenant))


def _built(settings: Settings) -> Services:
    from tessera.trust._services import Services

    built = Services.from_settings(settings)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.find_root().call_on_close(built.close)
    return built
