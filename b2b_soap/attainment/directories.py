"""The attainment import and suspense directories, and files written into them.

Attainment files are the one kind of transfer that also lives on disk, because other
tools read them there. Both directories must be private to the server's own user
(0700, owned by it); files are written 0600, atomically (temporary file in the same
directory, then rename), and deleted once imported and resolved.
"""
from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..admin.licences import ATTAINMENT_FEATURES, require_features
from ..config import Settings
from ..db import AttainmentImport, VirtualFile, utcnow
from ..errors import PayloadTooLarge, ServerBusy
from ..private_files import write_private_file

__all__ = ["UnsafeDirectory", "check_directories", "accept_attainment_file", "write_private_file",
           "remove_file", "import_file_path", "suspense_file_path", "waiting_files"]

DIR_MODE = 0o700


class UnsafeDirectory(ServerBusy):
    """An attainment directory is missing, not a directory, shared with others or not ours.

    A ServerBusy to a school (storage unavailable: retry later); at start-up ``serve``
    stops with the message, which names the directory and how to fix it.
    """

    def __init__(self, path: Path, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"attainment directory {path} {problem}")


def _check_one(path: Path) -> None:
    if not path.exists():
        path.mkdir(mode=DIR_MODE, parents=True)
        os.chmod(path, DIR_MODE)  # mkdir's mode is masked by the umask
    info = os.stat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeDirectory(path, "is not a directory")
    if info.st_uid != os.geteuid():
        raise UnsafeDirectory(path, f"is owned by uid {info.st_uid}, not by this server's user "
                                    f"(uid {os.geteuid()}); chown it to the server's user")
    shared = stat.S_IMODE(info.st_mode) & 0o077
    if shared:
        raise UnsafeDirectory(path, f"has mode {stat.S_IMODE(info.st_mode):04o}: group or others may "
                                    f"read, write or enter it; run chmod 700 {path}")


def check_directories(settings: Settings) -> tuple[Path, Path]:
    """Create missing attainment directories (0700) and refuse unsafe ones.

    ``serve`` calls this at start-up; the upload path calls it before writing a file.

    Returns:
        The import and suspense directories.

    Raises:
        UnsafeDirectory: a directory is not a directory, not owned by the current user,
            or readable, writable or executable by group or others.
    """
    for path in (settings.import_path, settings.suspense_path):
        _check_one(path)
    return settings.import_path, settings.suspense_path


def remove_file(path: str | Path | None) -> bool:
    """Delete a file if it is there; True if one was deleted."""
    if not path:
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def import_file_path(settings: Settings, file_id: str) -> Path:
    # Named by the server-made file id only: the client's file name never reaches the disk.
    return settings.import_path / f"{file_id}.xml"


def suspense_file_path(settings: Settings, file_id: str) -> Path:
    return settings.suspense_path / f"{file_id}.json"


def accept_attainment_file(session: Session, settings: Settings, virtual_file: VirtualFile,
                           plaintext_bytes: bytes) -> AttainmentImport:
    """Write a valid attainment file into the import directory and record it as waiting.

    Called by the transfer store once a file is complete, its checksum verified and its
    XSD validation passed, in the store's transaction (the caller commits). Idempotent
    per file id: a second call returns the existing record and writes nothing.

    Args:
        session: the store's session.
        settings: for the directories and the 2 MB limit.
        virtual_file: the stored file (its ``id`` names the file on disk).
        plaintext_bytes: the whole decompressed file.

    Raises:
        NotLicensed: the licence lacks B2B Student, Pulse or B2B Attainment.
        PayloadTooLarge: more than ``storage.max_attainment_file_bytes``.
        UnsafeDirectory: the import directory is not private (a ServerBusy).
    """
    require_features(session, settings, *ATTAINMENT_FEATURES)
    limit = settings.storage.max_attainment_file_bytes
    if len(plaintext_bytes) > limit:
        raise PayloadTooLarge(f"attainment files may be at most {limit} bytes; "
                              f"this one is {len(plaintext_bytes)}")
    existing = session.get(AttainmentImport, virtual_file.id)
    if existing is not None:
        return existing
    check_directories(settings)
    path = import_file_path(settings, virtual_file.id)
    write_private_file(path, plaintext_bytes)
    record = AttainmentImport(file_id=virtual_file.id, path=str(path), status="waiting", error="",
                              written_at=utcnow())
    session.add(record)
    session.flush()
    return record


def waiting_files(session: Session, settings: Settings, older_than_days: int | None = None,
                  ) -> list[dict[str, Any]]:
    """Files still in the import directory: waiting, failed or with open suspense.

    With ``older_than_days``, only those written more than that many days ago. Files in
    the directory that no record knows (a write whose transaction was rolled back) are
    listed with status ``unknown`` so the LA can delete them.
    """
    rows = session.execute(
        select(AttainmentImport, VirtualFile.file_name, VirtualFile.base_id)
        .join(VirtualFile, VirtualFile.id == AttainmentImport.file_id)
        .where(AttainmentImport.status.in_(("waiting", "failed", "suspense")))
        .order_by(AttainmentImport.written_at)
    ).all()
    cutoff = utcnow() - timedelta(days=older_than_days) if older_than_days is not None else None
    now = utcnow()
    listed = []
    for record, file_name, base_id in rows:
        if cutoff is not None and record.written_at > cutoff:
            continue
        listed.append({"file_id": record.file_id, "file_name": file_name, "base_id": base_id,
                       "status": record.status, "written_at": record.written_at,
                       "days_waiting": (now - record.written_at).days, "error": record.error,
                       "path": record.path})
    known = {Path(p).name for p in session.scalars(select(AttainmentImport.path))}
    listed += _unknown_files(settings.import_path, known, cutoff)
    return listed


def _unknown_files(directory: Path, known: set[str], cutoff: datetime | None) -> list[dict[str, Any]]:
    if not directory.is_dir():
        return []
    found = []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if entry.name in known or entry.name.startswith(".") or not entry.is_file():
            continue
        written = _mtime(entry)
        if cutoff is not None and written > cutoff:
            continue
        found.append({"file_id": "", "file_name": entry.name, "base_id": None, "status": "unknown",
                      "written_at": written, "days_waiting": (utcnow() - written).days,
                      "error": "no import record for this file", "path": entry.path})
    return found


def _mtime(entry: os.DirEntry) -> datetime:
    return datetime.fromtimestamp(entry.stat().st_mtime, UTC).replace(tzinfo=None)
