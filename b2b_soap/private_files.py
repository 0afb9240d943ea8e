"""Files only this server's user (or a named group) may read, written so that readers see all of them or nothing."""
from __future__ import annotations

import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

__all__ = ["write_private_file", "owner_only", "OWNER_ONLY_UMASK", "open_to_others"]

OWNER_ONLY_UMASK = 0o077


@contextmanager
def owner_only() -> Iterator[None]:
    """Files and directories created in the block are for this user only (umask 077)."""
    previous = os.umask(OWNER_ONLY_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def open_to_others(paths: Iterable[Path]) -> list[Path]:
    """Those of ``paths`` that exist and that other users (group or world) may read or write."""
    return [path for path in paths
            if path.exists() and stat.S_IMODE(path.stat().st_mode) & (stat.S_IRWXG | stat.S_IRWXO)]


def write_private_file(path: Path, data: bytes, mode: int = 0o600, gid: int | None = None) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename, fsync dir).

    The file gets exactly ``mode`` (whatever the umask) and, with ``gid``, that group.
    """
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o600)
    try:
        if gid is not None:
            os.fchown(fd, -1, gid)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)
