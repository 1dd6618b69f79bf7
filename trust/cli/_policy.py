"""`tessera policy`: validating and testing Cedar policy folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._common import out

__all__ = ["policy_app"]

policy_app = typer.Typer(help="Access policies (Cedar).", no_args_is_help=True)


PolicyDirOpt = Annotated[
    Path | None, typer.Option("--policies", help="Policy folder (default: the shipped set).")
]


@policy_app.command("validate")
def policy_validate(policies: PolicyDirOpt = None) -> None:
    """Parse and validate a policy folder against the schema, as start-up would."""
    from tessera.policies import DEFAULT_POLICY_DIR, CedarPolicyEngine

    engine = CedarPolicyEngine(policies or DEFAULT_POLICY_DIR)
    ids = engine.policies_for("").policy_ids
    out.print(f"{len(ids)} policies valid in {engine.policy_dir}: {', '.join(ids)}")


@policy_app.command("test")
def policy_test(
    cases: Annotated[
        Path | None, typer.Argument(help="TOML of [[case]] (default: shipped).")
    ] = None,
    policies: PolicyDirOpt = None,
) -> None:
    """Run allow/deny cases against a policy folder; exit 1 if any case fails."""
    from tessera.policies import DEFAULT_POLICY_DIR, CedarPolicyEngine, load_cases, run_cases

    engine = CedarPolicyEngine(policies or DEFAULT_POLICY_DIR)
    results = run_cases(engine, load_cases(cases or DEFAULT_POLICY_DIR / "cases.toml"))
    table = Table("", "case", "expected", "got", "policies")
    for r in results:
        got = r.decision.outcome.value + (
            f":{r.decision.required_assurance.name.lower()}"
            if r.decision.required_assurance
            else ""
        )
        expected = r.case.expect.value + (
            f":{r.case.expect_assurance.name.lower()}" if r.case.expect_assurance else ""
        )
        table.add_row(
            "[green]ok[/green]" if r.passed else "[red]FAIL[/red]",
            r.case.name,
            expected,
            got,
            ", ".join(r.decision.policy_ids),
        )
    out.print(table)
    failed = [r for r in results if not r.passed]
    out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)
