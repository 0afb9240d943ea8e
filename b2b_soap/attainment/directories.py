"""The attainment import and suspense directories, and files written into them.

Attainment files are the one kind of transfer that also lives on disk, because other
tools read them there. Both directories must be private to the server's own user
(0700, owned by it), or, with ``[attainment] group``, shared with that group only (2770,
owned by the server's user and that group: the accounts that need the files, such as the
one Pulse runs as, are its members). Nobody else may ever read, write or enter them. Files
are written 0600 (0660 with the group), atomically (temporary file in the same directory,
then rename), and deleted once imported and resolved.
"""
from __future__ import annotations

import grp
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Settings
from ..db import AttainmentImport, VirtualFile, utcnow
from ..errors import PayloadTooLarge, ServerBusy
from ..licensing import ATTAINMENT_FEATURES, require_features
from ..private_files import write_private_file

__all__ = ["UnsafeDirectory", "check_directories", "accept_attainment_file", "write_private_file",
           "write_attainment_file", "remove_file", "import_file_path", "suspense_file_path", "waiting_files",
           "Access", "access"]


class UnsafeDirectory(ServerBusy):
    """An attainment directory is missing, not a directory, shared with others or not ours.

    A ServerBusy to a school (storage unavailable: retry later); at start-up ``serve``
    stops with the message, which names the directory and how to fix it.
    """

    def __init__(self, path: Path, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"attainment directory {path} {problem}")


@dataclass(frozen=True)
class Access:
    """Who may use the attainment directories: the server's user, and a group when one is configured."""

    dir_mode: int
    file_mode: int
    gid: int | None = None
    group: str = ""


OWNER_ONLY = Access(dir_mode=0o700, file_mode=0o600)


def access(settings: Settings, path: Path) -> Access:
    """The access the settings ask for; UnsafeDirectory (naming ``path``) when the group does not exist."""
    name = settings.attainment.group
    if not name:
        return OWNER_ONLY
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        raise UnsafeDirectory(path, f"should belong to group {name!r} ([attainment] group), which does not "
                                    f"exist on this host; create the group or correct the setting") from None
    return Access(dir_mode=0o2770, file_mode=0o660, gid=gid, group=name)


def _create(path: Path, wanted: Access) -> None:
    path.mkdir(mode=0o700, parents=True)
    if wanted.gid is not None:
        os.chown(path, -1, wanted.gid)
    os.chmod(path, wanted.dir_mode)  # mkdir's mode is masked by the umask, and drops the setgid bit


def _problem(path: Path, info: os.stat_result, wanted: Access) -> str | None:
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISDIR(info.st_mode):
        return "is not a directory"
    if info.st_uid != os.geteuid():
        return (f"is owned by uid {info.st_uid}, not by this server's user (uid {os.geteuid()}); "
                f"chown it to the server's user")
    if mode & 0o007:
        allowed = f"the server's user or group {wanted.group}" if wanted.group else "the server's user"
        return (f"has mode {mode:04o}: others than {allowed} may read, write or enter it; "
                f"run chmod {wanted.dir_mode:o} {path}")
    if wanted.gid is None and mode & 0o070:
        return (f"has mode {mode:04o}: group or others may read, write or enter it; run chmod 700 {path} "
                f"(or name the group that may in [attainment] group)")
    if wanted.gid is not None and info.st_gid != wanted.gid:
        return (f"has group gid {info.st_gid}, not {wanted.group!r} ([attainment] group); "
                f"run chgrp {wanted.group} {path}")
    if wanted.gid is not None and mode != wanted.dir_mode:
        return f"has mode {mode:04o}, not 2770; run chmod 2770 {path}"
    return None


def check_directories(settings: Settings) -> tuple[Path, Path]:
    """Create missing attainment directories (0700, or 2770 with the group) and refuse unsafe ones.

    ``serve`` calls this at start-up; the upload path calls it before writing a file.

    Returns:
        The import and suspense directories.

    Raises:
        UnsafeDirectory: a directory is not a directory, not owned by the current user, open
            to others (or, without a group, to its group), not of the configured group, or
            the configured group does not exist.
    """
    for path in (settings.import_path, settings.suspense_path):
        wanted = access(settings, path)
        if not path.exists():
            _create(path, wanted)
        problem = _problem(path, os.stat(path), wanted)
        if problem:
            raise UnsafeDirectory(path, problem)
    return settings.import_path, settings.suspense_path


def write_attainment_file(settings: Settings, path: Path, data: bytes) -> None:
    """Write a file into an attainment directory: 0600, or 0660 and the configured group."""
    wanted = access(settings, path.parent)
    write_private_file(path, data, wanted.file_mode, wanted.gid)


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

    Called by the file store (``files``) once a file is complete, its checksum verified and its
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
    write_attainment_file(settings, path, plaintext_bytes)
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
