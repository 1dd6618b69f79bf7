"""The shape of the code: each package's public surface, and dependencies pointing one way."""

from __future__ import annotations

import ast
import importlib
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
    # auth speaks the policies' assurance levels (low / substantial / high): one vocabulary.
    "auth": {"tessera", "storage", "vault", "policies"},
    "policies": {"tessera", "storage", "vault"},
    "payments": {"tessera", "storage", "vault", "auth", "consent", "policies"},
    "trust": set(PACKAGES),
}


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_public_surface_is_exactly_all(folder: str) -> None:
    module = importlib.import_module(PACKAGES[folder])
    exported = {name for name in module.__all__ if not name.startswith("__")}
    public = {
        name
        for name in vars(module)
        if not name.startswith("_") and not isinstance(vars(module)[name], type(module))
    } - {"annotations"}
    assert public == exported
    assert list(module.__all__) == sorted(module.__all__, key=lambda n: (not n.isupper(), n))


def _imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "tessera":
                found.add(parts[1] if len(parts) > 1 else "tessera")
    return found


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_dependencies_point_one_way(folder: str) -> None:
    for path in (ROOT / folder).rglob("*.py"):
        used = _imported_packages(path) - {folder}
        assert used <= ALLOWED[folder], f"{path.relative_to(ROOT)} imports {used - ALLOWED[folder]}"


def test_each_package_has_one_base_error() -> None:
    from tessera import TesseraError
    from tessera.storage import StorageError
    from tessera.trust import TrustError
    from tessera.vault import VaultError

    for base in (StorageError, TrustError, VaultError):
        assert issubclass(base, TesseraError)
