"""Atomic file and folder writing: a temporary file (or folder) beside the target, then os.replace.

A crash, Ctrl-C or a full disk never leaves a half-written file where a user's file (or a finished result)
was: readers see the old file or the complete new one. Every writer in fieldasr goes through here.
"""
from __future__ import annotations

import contextlib
import os
import shutil
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


class OutputExistsError(FieldasrError):
    """An output folder exists and the caller did not ask to replace it."""


@contextlib.contextmanager
def atomic_directory(path: str | Path, *, overwrite: bool = False, fix: str = "pass --overwrite") -> Iterator[Path]:
    """Yield an empty staging folder beside `path`; on success it becomes `path`, on any exception it is removed.

    The staging folder gets the permissions a plain mkdir would (mkdtemp's are private); files written into it
    keep their own. An existing folder is moved aside, the new one renamed into place, then the old one deleted,
    so an exception at any point before the rename leaves the old folder as it was.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: already exists; nothing was written. Choose another folder or {fix} to replace it.")
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"{path}: is a file, not a folder; nothing was written. Choose another output folder.")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        os.chmod(staging, 0o777 & ~_umask())
        yield staging
        _swap_into_place(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_into_place(staging: Path, path: Path) -> None:
    if not path.exists():
        os.replace(staging, path)
        return
    retired = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old")) / path.name
    os.replace(path, retired)
    try:
        os.replace(staging, path)
    except BaseException:
        os.replace(retired, path)  # put the old folder back before reporting the failure
        raise
    shutil.rmtree(retired.parent, ignore_errors=True)


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


def read_utf8_text(path: str | Path, error: type[Exception], what: str, converted_suffix: str, missing_hint: str = "") -> str:
    """The text of a UTF-8 file (a byte-order mark is dropped). A missing or non-UTF-8 file raises `error` with a
    message naming the file and the fix (an `iconv` command writing `<stem><converted_suffix>`)."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} {path} does not exist" + (f"; {missing_hint}" if missing_hint else ""))
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as decoding:
        raise error(f"{path} is not UTF-8 (byte {decoding.start}: {data[decoding.start:decoding.start + 4]!r}); convert it "
                    f"first, e.g. `iconv -f LATIN1 -t UTF-8 {path.name} > {path.stem}{converted_suffix}`") from None
