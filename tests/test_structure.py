"""The shape of the code: each package's public surface, and dependencies pointing one way."""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "tessera": "tessera",
    "storage": "tessera.storage",
    "vault": "tessera.vault",
    "consent": "tessera.consent",
    "auth": "tessera.auth",
    "payments": "tessera.payments",
    "policies": "tessera.policies",
    "trust": "tessera.trust",
}

# What each package may import from Tessera (DESIGN.md: trust → payments → auth, consent,
# policies → vault → storage). The root `tessera` package holds only the base error.
ALLOWED = {
    "tessera": set(),
    "storage": {"tessera"},
    "vault": {"tessera", "storage"},
    "consent": {"tessera", "storage", "vault"},
    # The vocabulary they share (channels, assurance levels) is in the root package.
    "auth": {"tessera", "storage", "vault"},
    "policies": {"tessera", "storage", "vault"},
    "payments": {"tessera", "storage", "vault", "auth", "consent", "policies"},
    "trust": set(PACKAGES),
}

# Inside trust, rooms depend on the rooms before them: identity, audit and telemetry, then the
# gateway, redaction and webhooks, then the pages' shared web layer and the customer portal, the
# HTTP API and the command line.
# `_errors` and `_settings` serve every room; the composition root `_services` is for the edges.
ROOMS = {
    "identity": set(),
    "audit": set(),
    "telemetry": set(),  # spans for the stages of the rooms above it
    "cluster": set(),  # where bulk jobs run: a Dask cluster
    "gateway": {"identity", "audit", "telemetry"},
    "redaction": {"identity", "audit", "telemetry", "cluster"},
    "webhooks": set(),
    "streaming": {"redaction"},  # live transcripts from a broker, redacted as the stream does
    "_services": {"identity", "audit", "gateway", "redaction", "webhooks"},
    "web": {"_services"},
    "processing": {"identity", "audit", "_services"},
    "portal": {"identity", "audit", "gateway", "_services", "web"},
    "console": {"identity", "audit", "gateway", "_services", "web", "processing"},
    "http": {
        "identity",
        "audit",
        "gateway",
        "redaction",
        "webhooks",
        "_services",
        "portal",
        "console",
        "processing",
        "telemetry",
    },
    "cli": {
        "identity",
        "audit",
        "gateway",
        "redaction",
        "streaming",
        "webhooks",
        "_services",
        "portal",
        "processing",
        "http",
        "telemetry",
        "cluster",
    },
}
SHARED_ROOMS = {"_errors", "_events", "_settings"}


def _modules_with_all() -> list[str]:
    names = []
    for folder, package in PACKAGES.items():
        base = ROOT / folder if folder != "tessera" else ROOT / "tessera"
        for init in sorted(base.rglob("__init__.py")):
            relative = init.parent.relative_to(base).parts
            if any(part.startswith("_") or part == "migrations" for part in relative):
                continue
            names.append(".".join((package, *relative)))
    return names


@pytest.mark.parametrize("name", _modules_with_all())
def test_public_surface_is_exactly_all(name: str) -> None:
    module = importlib.import_module(name)
    exported = {n for n in module.__all__ if not n.startswith("__")}
    assert list(module.__all__) == sorted(module.__all__, key=lambda n: (not n.isupper(), n))
    for exported_name in exported:
        getattr(module, exported_name)  # every name resolves, lazily or not
    if "__getattr__" in vars(module):  # lazy: what it shows is what it exports
        assert set(dir(module)) == exported
        return
    public = {
        n
        for n in vars(module)
        if not n.startswith("_") and not isinstance(vars(module)[n], type(module))
    } - {"annotations"}
    assert public == exported


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [name for name in found if name == "tessera" or name.startswith("tessera.")]


def _package_of(name: str) -> str:
    """The package a module belongs to; a module of the root package itself (`tessera.metrics`,
    shared below every package as the vocabulary is) is the root's."""
    parts = name.split(".")
    if len(parts) == 1 or (ROOT / "tessera" / f"{parts[1]}.py").exists():
        return "tessera"
    return parts[1]


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_dependencies_point_one_way(folder: str) -> None:
    for path in (ROOT / folder).rglob("*.py"):
        for name in _imports(path):
            used = _package_of(name)
            if used == folder:
                continue
            where = path.relative_to(ROOT)
            assert used in ALLOWED[folder], f"{where} imports {name}"
            # Another package is reached through its public API, never a private module.
            private = [p for p in name.split(".")[2:] if p.startswith("_")]
            assert not private, f"{where} imports the private {name}"


def _room_of(path: Path) -> str:
    parts = path.relative_to(ROOT / "trust").parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def test_trust_rooms_depend_on_the_rooms_before_them() -> None:
    for path in (ROOT / "trust").rglob("*.py"):
        room = _room_of(path)
        for name in _imports(path):
            parts = name.split(".")
            if parts[:2] != ["tessera", "trust"] or len(parts) < 3:
                continue
            used = parts[2]
            where = path.relative_to(ROOT)
            if used == room or used in SHARED_ROOMS:
                continue
            assert used in ROOMS.get(room, set()), f"{where} ({room}) imports {name}"
            assert len(parts) == 3, f"{where} imports {name}: another room's private module"


def test_each_package_has_one_base_error() -> None:
    from tessera import TesseraError
    from tessera.storage import StorageError
    from tessera.trust import TrustError
    from tessera.vault import VaultError

    for base in (StorageError, TrustError, VaultError):
        assert issubclass(base, TesseraError)


def test_every_trust_error_is_a_trust_error() -> None:
    import tessera.trust as trust
    from tessera import TesseraError

    errors = [getattr(trust, n) for n in trust.__all__ if n.endswith(("Error", "Required"))]
    errors += [
        getattr(trust, n)
        for n in trust.__all__
        if isinstance(getattr(trust, n), type) and issubclass(getattr(trust, n), TesseraError)
    ]
    assert errors
    for error in errors:
        assert issubclass(error, trust.TrustError), error


def test_every_package_folder_is_in_the_distribution() -> None:
    """A wheel holds the packages pyproject lists; a folder left out installs only in editable
    mode, where it still imports."""
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = set()
    for folder, package in PACKAGES.items():
        for module in (ROOT / folder).rglob("*.py"):
            found.add(".".join((package, *module.parent.relative_to(ROOT / folder).parts)))
    assert found == listed, found ^ listed


def test_no_module_is_over_700_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for folder in PACKAGES
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > 700
    }
    assert not long, long


# The packages whose SQL lives in one store module, over typed rows.
STORES = {"auth": {"_store.py", "_tables.py"}}
_SQL = {"select", "insert", "update", "delete", "text", "and_", "or_", "func"}


@pytest.mark.parametrize("folder", sorted(STORES))
def test_every_sql_statement_is_in_the_store(folder: str) -> None:
    """A part that decides does not build SQL: it asks the store, which answers typed rows."""
    builders = {}
    for path in sorted((ROOT / folder).glob("*.py")):
        if path.name in STORES[folder]:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
            for alias in node.names
        }
        if names & _SQL or any(
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "execute"
            for node in ast.walk(tree)
        ):
            builders[path.name] = sorted(names & _SQL) or ["execute"]
    assert not builders, builders
