"""What every benchmark prints: a table of figures per backend, then PASS/FAIL per target."""

from __future__ import annotations

Check = tuple[str, float, bool]


def print_table(results: dict[str, dict[str, float]]) -> None:
    print(f"{'figure':32}" + "".join(f"{name:>14}" for name in results))
    for key in next(iter(results.values())):
        print(f"{key:32}" + "".join(f"{r[key]:>14,.3f}" for r in results.values()))


def judge(checks: list[Check], *, strict: bool) -> int:
    """Print each check; with `strict`, a missed target makes the exit code 1."""
    failed = False
    for label, value, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {value:,.2f}")
        failed |= not ok
    return 1 if failed and strict else 0
