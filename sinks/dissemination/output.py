"""Where a release is written: a new file (never over an existing one, never through a symlink), readable
by its owner only, with its manifest beside it. Both are written to hidden temporary names first and put
in place only after the audit row is in, so a failed run leaves no release behind and no release exists
without its audit row."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dids.kernel.errors import DidsError
from dids.kernel.terminal import spreadsheet_safe

FORMATS = {".parquet": "parquet", ".csv": "csv"}


class OutputError(DidsError):
    """The output file cannot be written where it was asked for."""


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name + ".manifest.json")


def check_output(out: Path) -> str:
    """The format ``out`` asks for, after refusing what would overwrite, follow a link or hide a name."""
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise OutputError(f"--out {_shown(out)}: name the file .parquet or .csv (the format follows the extension)")
    if any(ord(c) < 32 or c == "\x7f" for c in str(out)):
        raise OutputError("--out: the name holds control characters (a newline, say): choose a plain name")
    if out.name.startswith("."):
        raise OutputError(f"--out {_shown(out)}: a hidden file name; choose a visible one")
    if not out.parent.is_dir():
        raise OutputError(f"--out {_shown(out)}: the folder {_shown(out.parent)} does not exist")
    for path in (out, manifest_path(out)):
        if os.path.lexists(path):  # a dangling symlink too
            raise OutputError(
                f"{_shown(path)} already exists: a release is never written over another; choose a new name"
            )
    return fmt


def _shown(path: Path) -> str:
    return repr(str(path))[1:-1][:300]


class PendingRelease:
    """A release being written: ``write`` the data and manifest to temporary names, ``place`` them."""

    def __init__(self, out: Path):
        self.out = out
        tag = uuid.uuid4().hex[:12]
        self.data_tmp = out.with_name(f".{out.name}.{tag}.partial")
        self.manifest_tmp = out.with_name(f".{out.name}.{tag}.manifest.partial")

    def write_data(self, writer: Callable[[Path], None]) -> str:
        """Create the temporary file (0600, refusing anything already there), let ``writer`` fill it,
        and return its SHA-256."""
        _create_private(self.data_tmp)
        writer(self.data_tmp)
        digest = hashlib.sha256()
        with self.data_tmp.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        _create_private(self.manifest_tmp)
        self.manifest_tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")

    def place(self) -> None:
        """Give both files their names; a hard link fails rather than replace a file that appeared since."""
        placed: list[Path] = []
        try:
            for tmp, final in ((self.data_tmp, self.out), (self.manifest_tmp, manifest_path(self.out))):
                os.link(tmp, final)
                placed.append(final)
        except OSError as exc:
            for path in placed:
                path.unlink(missing_ok=True)
            raise OutputError(f"cannot put {_shown(self.out)} in place: {exc.strerror or exc}") from None
        finally:
            self.discard()

    def discard(self) -> None:
        self.data_tmp.unlink(missing_ok=True)
        self.manifest_tmp.unlink(missing_ok=True)


def _create_private(path: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise OutputError(f"cannot write in {_shown(path.parent)}: {exc.strerror or exc}") from None
    os.close(fd)


def write_csv(path: Path, names: list[str], rows) -> None:
    """CSV with a header; empty for NULL; text that a spreadsheet would run as a formula made inert."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([spreadsheet_safe("" if v is None else v) for v in row] for row in rows)
