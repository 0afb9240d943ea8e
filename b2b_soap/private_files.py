"""Files only this server's user (or a named group) may read, written so that readers see all of them or nothing."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["write_private_file"]


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
