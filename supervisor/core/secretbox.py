"""Encryption at rest for device secrets (passwords, SNMP communities and keys).

The key lives in the instance folder (generated on first run, never committed) or comes
from FLASK_DEVICE_SECRET_KEY. Values are Fernet tokens: AES-128-CBC + HMAC-SHA256.
"""
from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.types import String, TypeDecorator

_fernet: Fernet | None = None


def configure(key: bytes | str) -> None:
    """Sets the process-wide key; called by create_app()."""
    global _fernet
    _fernet = Fernet(key.encode() if isinstance(key, str) else key)


def load_or_create_key(path: Path) -> bytes:
    """Reads the key file, creating it (mode 0600) on first run."""
    if path.exists():
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(key)
    return key


def encrypt(plain: str) -> str:
    if _fernet is None:
        raise RuntimeError("device secret key not configured")
    return _fernet.encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    if _fernet is None:
        raise RuntimeError("device secret key not configured")
    try:
        return _fernet.decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:  # wrong key: say so instead of returning garbage
        raise RuntimeError("device secret cannot be decrypted with this key") from exc


def encrypt_bytes(plain: bytes) -> bytes:
    """A whole file (an uploaded inventory holding device passwords) as a Fernet token."""
    if _fernet is None:
        raise RuntimeError("device secret key not configured")
    return _fernet.encrypt(plain)


def decrypt_bytes(token: bytes) -> bytes:
    if _fernet is None:
        raise RuntimeError("device secret key not configured")
    try:
        return _fernet.decrypt(token)
    except InvalidToken as exc:
        raise RuntimeError("file cannot be decrypted with this key") from exc


class EncryptedString(TypeDecorator):
    """A column whose plaintext never reaches the database."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None or value == "" else encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt(value)
