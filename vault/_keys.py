"""Key-encryption keys (KEKs) behind one interface: a local keyring file or a PKCS#11 token.

A KEK never leaves its provider: callers hand in a data key and get back a
wrapped blob (and the reverse). Each KEK has an integer version; rotation adds
a version and never removes one, so anything wrapped earlier stays readable.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ._errors import KeyProviderError, MissingKeyVersion, WrongPassphrase

__all__ = ["KeyProvider", "LocalKeyring", "Pkcs11KeyProvider", "WrappedKey"]

_NONCE = 12
_T = TypeVar("_T")


class _IntegrityFailure(KeyProviderError):
    """A blob the token refused to unwrap: tampered with, not a token fault (no retry)."""


def data_key_aad(tenant: str, scope: str, subject: str, dek_id: str) -> bytes:
    """Binds a wrapped data key to its owner: moved to another row, it no longer unwraps."""
    return "\x1f".join(("tessera/dek/1", tenant, scope, subject, dek_id)).encode()


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key encrypted under KEK `kek_version`."""

    kek_version: int
    blob: bytes


@runtime_checkable
class KeyProvider(Protocol):
    """Holds the key-encryption keys; wraps and unwraps data keys without exposing them."""

    name: str

    def current_version(self) -> int:
        """The version new data keys are wrapped under."""
        ...

    def versions(self) -> list[int]: ...

    def wrap(self, key: bytes, *, aad: bytes) -> WrappedKey: ...

    def unwrap(self, wrapped: WrappedKey, *, aad: bytes) -> bytes:
        """Raise `MissingKeyVersion` or `KeyProviderError`; never return a wrong key."""
        ...

    def rotate(self) -> int:
        """Create a new KEK version, make it current, and return it."""
        ...


# ---------------------------------------------------------------------------- local keyring

_FORMAT = "tessera-keyring/1"


class LocalKeyring:
    """KEKs in a JSON file, each sealed under a key derived from a passphrase with scrypt.

    The embedded default: no HSM needed. The file is written atomically with
    mode 0600; a wrong passphrase fails the AES-GCM tag of the first KEK and is
    reported as `WrongPassphrase`. Other processes' rotations are picked up by
    re-reading the file when it changes.
    """

    name = "keyring"

    # scrypt cost: n=2**15, r=8 takes ~0.1 s and 32 MiB, once per process start.
    DEFAULT_COST = 2**15

    def __init__(
        self,
        path: Path,
        passphrase: str | bytes,
        *,
        create: bool = False,
        scrypt_cost: int = DEFAULT_COST,
    ) -> None:
        self.path = Path(path)
        if isinstance(passphrase, str):
            passphrase = passphrase.encode("utf-8")
        if not passphrase:
            raise KeyProviderError("the keyring passphrase is empty")
        self._lock = threading.Lock()
        self._keks: dict[int, AESGCM] = {}
        self._current = 0
        self._mtime_ns = -1
        if not self.path.exists():
            if not create:
                raise KeyProviderError(
                    f"no keyring at {self.path}; create one with `tessera keys init`"
                )
            self._create(passphrase, scrypt_cost)
        self._doc = self._read()
        self._sealing = AESGCM(self._derive(passphrase, self._doc["kdf"]))
        self._load(self._doc)

    # -- file handling
    def _create(self, passphrase: bytes, cost: int) -> None:
        kdf = {"name": "scrypt", "salt": _b64(secrets.token_bytes(16)), "n": cost, "r": 8, "p": 1}
        sealing = AESGCM(self._derive(passphrase, kdf))
        doc: dict[str, Any] = {"format": _FORMAT, "kdf": kdf, "current": 1, "keys": []}
        doc["keys"].append(self._seal_new_kek(sealing, 1))
        self._write(doc)

    @staticmethod
    def _derive(passphrase: bytes, kdf: dict[str, Any]) -> bytes:
        if kdf.get("name") != "scrypt":
            raise KeyProviderError("unsupported keyring key-derivation function")
        return Scrypt(
            salt=_unb64(kdf["salt"]), length=32, n=int(kdf["n"]), r=int(kdf["r"]), p=int(kdf["p"])
        ).derive(passphrase)

    @staticmethod
    def _seal_new_kek(sealing: AESGCM, version: int) -> dict[str, Any]:
        nonce = secrets.token_bytes(_NONCE)
        sealed = sealing.encrypt(nonce, AESGCM.generate_key(256), _kek_aad(version))
        return {"version": version, "nonce": _b64(nonce), "sealed": _b64(sealed)}

    def _read(self) -> dict[str, Any]:
        try:
            stat = self.path.stat()
            doc = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyProviderError(f"cannot read the keyring at {self.path}") from exc
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise KeyProviderError(f"{self.path} is not a Tessera keyring")
        self._mtime_ns = stat.st_mtime_ns
        return doc

    def _write(self, doc: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(self.path)
        finally:
            if tmp.exists():
                tmp.unlink()
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _load(self, doc: dict[str, Any]) -> None:
        keks: dict[int, AESGCM] = {}
        for entry in doc["keys"]:
            version = int(entry["version"])
            try:
                raw = self._sealing.decrypt(
                    _unb64(entry["nonce"]), _unb64(entry["sealed"]), _kek_aad(version)
                )
            except InvalidTag:
                raise WrongPassphrase("wrong passphrase for the keyring") from None
            keks[version] = AESGCM(raw)
        self._keks = keks
        self._current = int(doc["current"])
        if self._current not in keks:
            raise KeyProviderError("the keyring's current version is missing from it")

    def _refresh(self) -> None:
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError as exc:
            raise KeyProviderError(f"the keyring at {self.path} has disappeared") from exc
        if mtime != self._mtime_ns:
            self._doc = self._read()
            self._load(self._doc)

    # -- KeyProvider
    def current_version(self) -> int:
        with self._lock:
            self._refresh()
            return self._current

    def versions(self) -> list[int]:
        with self._lock:
            self._refresh()
            return sorted(self._keks)

    def wrap(self, key: bytes, *, aad: bytes) -> WrappedKey:
        with self._lock:
            self._refresh()
            version, kek = self._current, self._keks[self._current]
        nonce = secrets.token_bytes(_NONCE)
        return WrappedKey(version, nonce + kek.encrypt(nonce, key, aad))

    def unwrap(self, wrapped: WrappedKey, *, aad: bytes) -> bytes:
        kek = self._keks.get(wrapped.kek_version)
        if kek is None:
            with self._lock:
                self._refresh()
                kek = self._keks.get(wrapped.kek_version)
            if kek is None:
                raise MissingKeyVersion(wrapped.kek_version)
        try:
            return kek.decrypt(wrapped.blob[:_NONCE], wrapped.blob[_NONCE:], aad)
        except InvalidTag:
            raise KeyProviderError("a wrapped data key failed its integrity check") from None

    def rotate(self) -> int:
        with self._lock:
            self._refresh()
            doc = dict(self._doc)
            version = max(self._keks) + 1
            doc["keys"] = [*doc["keys"], self._seal_new_kek(self._sealing, version)]
            doc["current"] = version
            self._write(doc)
            self._doc = self._read()
            self._load(self._doc)
            return version


def _kek_aad(version: int) -> bytes:
    return f"{_FORMAT}|kek|{version}".encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


# ---------------------------------------------------------------------------- PKCS#11


class Pkcs11KeyProvider:
    """KEKs as non-extractable AES-256 keys in a PKCS#11 token (an HSM; SoftHSM2 in tests).

    Each version is a key labelled `<label_prefix><version>`; wrapping is
    AES-GCM inside the token, so the KEK never reaches this process.

    A token that goes away (pulled, its slot reset, the HSM rebooted) is a
    `KeyProviderError` on every call, never a stale answer; the next call after it
    returns opens a new session by itself. Keys are generated only on first use of
    an empty token, never because a token that held keys seems empty.
    """

    name = "pkcs11"

    def __init__(
        self, *, module: str, token_label: str, pin: str, label_prefix: str = "tessera-kek-"
    ) -> None:
        try:
            import pkcs11
        except ImportError as exc:  # pragma: no cover - dependency is declared
            raise KeyProviderError("python-pkcs11 is not installed") from exc
        self._p11 = pkcs11
        self._prefix = label_prefix
        self._token_label = token_label
        self._pin = pin
        self._lock = threading.Lock()
        try:
            self._lib = pkcs11.lib(module)
        except (pkcs11.exceptions.PKCS11Error, RuntimeError, OSError) as exc:
            raise KeyProviderError(f"cannot load PKCS#11 module: {type(exc).__name__}") from None
        self._session: Any = None
        self._open()
        self._keys: dict[int, Any] = self._find_keys()
        if not self._keys:
            self._generate(1)

    def _open(self, *, rescan: bool = False) -> None:
        """A new session; `rescan` re-reads the slots (a token put back)."""
        p11 = self._p11
        if self._session is not None:
            with contextlib.suppress(p11.exceptions.PKCS11Error, RuntimeError):
                self._session.close()
            self._session = None
        try:
            if rescan:
                self._lib.reinitialize()
            token = self._lib.get_token(token_label=self._token_label)
            try:
                self._session = token.open(user_pin=self._pin, rw=True)
            except p11.exceptions.UserAlreadyLoggedIn:
                # Login is per application: another provider in this process holds it.
                self._session = token.open(rw=True)
        except p11.exceptions.PinIncorrect:
            raise WrongPassphrase("wrong PIN for the PKCS#11 token") from None
        except (p11.exceptions.PKCS11Error, RuntimeError, OSError) as exc:
            raise KeyProviderError(
                f"cannot open PKCS#11 token {self._token_label!r}: {type(exc).__name__}"
            ) from None

    def _find_keys(self) -> dict[int, Any]:
        p11 = self._p11
        found: dict[int, Any] = {}
        for obj in self._session.get_objects({p11.Attribute.CLASS: p11.ObjectClass.SECRET_KEY}):
            label = obj[p11.Attribute.LABEL]
            if label.startswith(self._prefix) and label[len(self._prefix) :].isdigit():
                found[int(label[len(self._prefix) :])] = obj
        return found

    def _reload(self) -> None:
        found = self._find_keys()
        if not found:  # a token that held keys has none: it is not the one we opened
            raise KeyProviderError("the PKCS#11 token holds no key-encryption key")
        self._keys = found

    def _call(self, operation: Callable[[], _T]) -> _T:
        """Runs `operation` on the session; on a token error, once more on a new one."""
        p11 = self._p11
        with self._lock:
            for attempt in range(3):
                try:
                    if attempt or self._session is None:
                        self._open(rescan=attempt == 2)
                        self._reload()
                    return operation()
                except (p11.exceptions.PKCS11Error, KeyProviderError) as exc:
                    if isinstance(exc, (MissingKeyVersion, WrongPassphrase, _IntegrityFailure)):
                        raise
                    failure = str(exc) if isinstance(exc, KeyProviderError) else type(exc).__name__
            raise KeyProviderError(
                f"PKCS#11 token {self._token_label!r} unavailable: {failure}"
            ) from None

    def _generate(self, version: int) -> None:
        p11 = self._p11
        self._keys[version] = self._session.generate_key(
            p11.KeyType.AES,
            256,
            label=f"{self._prefix}{version}",
            store=True,
            template={p11.Attribute.EXTRACTABLE: False, p11.Attribute.SENSITIVE: True},
        )

    def _params(self, nonce: bytes, aad: bytes) -> Any:
        from pkcs11.mechanisms import GCMParams

        return GCMParams(nonce, aad, 128)

    def current_version(self) -> int:
        def current() -> int:
            self._reload()
            return max(self._keys)

        return self._call(current)

    def versions(self) -> list[int]:
        def listed() -> list[int]:
            self._reload()
            return sorted(self._keys)

        return self._call(listed)

    def wrap(self, key: bytes, *, aad: bytes) -> WrappedKey:
        nonce = secrets.token_bytes(_NONCE)

        def wrapped() -> WrappedKey:
            version = max(self._keys)
            ct = self._keys[version].encrypt(
                key, mechanism=self._p11.Mechanism.AES_GCM, mechanism_param=self._params(nonce, aad)
            )
            return WrappedKey(version, nonce + bytes(ct))

        return self._call(wrapped)

    def unwrap(self, wrapped: WrappedKey, *, aad: bytes) -> bytes:
        def unwrapped() -> bytes:
            kek = self._keys.get(wrapped.kek_version)
            if kek is None:
                self._reload()
                kek = self._keys.get(wrapped.kek_version)
            if kek is None:
                raise MissingKeyVersion(wrapped.kek_version)
            try:
                return bytes(
                    kek.decrypt(
                        wrapped.blob[_NONCE:],
                        mechanism=self._p11.Mechanism.AES_GCM,
                        mechanism_param=self._params(wrapped.blob[:_NONCE], aad),
                    )
                )
            except self._p11.exceptions.PKCS11Error:
                # SoftHSM answers a wrong tag with a general error: a token that still
                # lists its keys refused the blob, one that doesn't is gone (retry).
                self._reload()
                raise _IntegrityFailure("a wrapped data key failed its integrity check") from None

        return self._call(unwrapped)

    def rotate(self) -> int:
        def rotated() -> int:
            self._reload()
            version = max(self._keys) + 1
            self._generate(version)
            return version

        return self._call(rotated)

    def close(self) -> None:
        with self._lock, contextlib.suppress(self._p11.exceptions.PKCS11Error, RuntimeError):
            if self._session is not None:
                self._session.close()
