"""Secrets on disk: passwords and keys travel between processes as 0600 files, never in an environment.

A child process inherits its parent's environment and shows it in ``/proc/<pid>/environ`` to whoever
can read that (and to any query that can read files), so ``DIDS_<SECRET>`` values are written to
``<DIDS_HOME>/secrets/<name>`` and the child gets ``DIDS_<SECRET>_FILE`` instead.
The local warehouse's admin password is generated there on first start (`dids up`, `dids warehouse`).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from dids.kernel.errors import ConfigError

SECRETS_DIR = "secrets"
ADMIN_PASSWORD = "admin_password"  # the file name, and the Settings field it fills


def secrets_dir(home: Path) -> Path:
    return Path(home) / SECRETS_DIR


def read_secret_file(path: Path, variable: str) -> str:
    """The secret in ``path`` (less one trailing newline); refused if others may read or write it."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        value = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{variable}={path}: cannot read it ({reason or type(exc).__name__})") from None
    if stat.S_IMODE(mode) & 0o077:
        raise ConfigError(
            f"{variable}={path} can be read or written by group or others (mode {stat.S_IMODE(mode):o}): "
            f"`chmod 600 {path}`, then start again"
        )
    return value.removesuffix("\n").removesuffix("\r")


def write_secret(path: Path, value: str) -> Path:
    """Write ``value`` to ``path`` as 0600 (its folder 0700), replacing it atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, value.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def stored_secret(home: Path, name: str) -> str:
    """The secret ``name`` stored under ``home``, or "" when there is none."""
    path = secrets_dir(home) / name
    return read_secret_file(path, f"{path}") if path.exists() else ""


def generated_secret(home: Path, name: str) -> tuple[str, Path]:
    """The stored secret ``name``, made (32 random bytes, URL-safe) on first use."""
    path = secrets_dir(home) / name
    if path.exists():
        return read_secret_file(path, f"{path}"), path
    value = secrets.token_urlsafe(32)
    write_secret(path, value)
    return value, path
