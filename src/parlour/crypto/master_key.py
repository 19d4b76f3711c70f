"""Loading the master key: from settings, or from a key file that development creates (0600)."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from parlour.settings import Settings, master_key_problem


class MasterKeyError(RuntimeError):
    pass


def generate_master_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def load_previous_master_keys(settings: Settings) -> list[bytes]:
    return [base64.b64decode(k.get_secret_value()) for k in settings.crypto.previous_master_keys]


def load_master_key(settings: Settings) -> bytes:
    configured = settings.crypto.master_key
    if configured is not None:
        return base64.b64decode(configured.get_secret_value())
    path = settings.master_key_path
    if not path.exists():
        if settings.is_production:
            raise MasterKeyError(f"master key file {path} does not exist")
        _create_key_file(path)
    return _read_key_file(path, strict=settings.is_production)


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(generate_master_key() + "\n")


def _read_key_file(path: Path, *, strict: bool) -> bytes:
    if strict and path.stat().st_mode & 0o077:
        raise MasterKeyError(f"master key file {path} must not be readable by group or others")
    encoded = path.read_text().strip()
    problem = master_key_problem(encoded)
    if problem:
        raise MasterKeyError(f"master key file {path} {problem}")
    return base64.b64decode(encoded)
