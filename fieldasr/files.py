"""Atomic file writing: a temporary file in the target's folder, then os.replace.

A crash, Ctrl-C or a full disk never leaves a half-written file where a user's file (or a finished result)
was: readers see the old file or the complete new one. Every writer in fieldasr goes through here.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fieldasr.errors import FieldasrError


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextlib.contextmanager
def atomic_path(path: str | Path, *, like: Path | None = None, make_parents: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path`, on any exception it is removed.

    Permissions are copied from `like` (e.g. the file being replaced), else ordinary user-file permissions
    (mkstemp's are private). Without `make_parents`, a missing folder is an error naming the fix.
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        raise FieldasrError(f"{path}: folder {path.parent} does not exist. Create it first or choose another output path.")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + "".join(path.suffixes[-1:]))
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        os.chmod(temporary_path, like.stat().st_mode & 0o7777 if like is not None else 0o666 & ~_umask())
        os.replace(temporary_path, path)
    except BaseException:
        temporary_path.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes, *, like: Path | None = None, make_parents: bool = False) -> Path:
    """Write `data` to `path` atomically (flushed to disk before the rename)."""
    with atomic_path(path, like=like, make_parents=make_parents) as temporary:
        with open(temporary, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    return Path(path)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8", *, make_parents: bool = False) -> Path:
    return atomic_write_bytes(path, text.encode(encoding), make_parents=make_parents)


def backup_path(path: Path, number: int) -> Path:
    """The backup scheme: `rec.eaf.bak` for the first, then `rec.eaf.bak2`, `rec.eaf.bak3`, ..."""
    return path.with_name(f"{path.name}.bak" if number == 1 else f"{path.name}.bak{number}")


def next_backup_path(path: Path) -> Path:
    """The name the next backup of `path` would get: the first free one."""
    number = 1
    while backup_path(path, number).exists():
        number += 1
    return backup_path(path, number)


def keep_backup(path: str | Path, data: bytes) -> Path:
    """Save `data` (the file's bytes before a change) as the first free backup name; an existing backup is never
    overwritten. The name is claimed first (O_EXCL), then filled atomically, so a backup is complete or absent."""
    path = Path(path)
    number = 1
    while True:
        candidate = backup_path(path, number)
        try:
            os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            break
        except FileExistsError:
            number += 1
    try:
        return atomic_write_bytes(candidate, data, like=path if path.exists() else None)
    except BaseException:
        candidate.unlink(missing_ok=True)
        raise
