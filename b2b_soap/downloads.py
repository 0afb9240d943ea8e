"""LA -> school: files the LA queues for bases, which SIMS lists, fetches and acknowledges.

Contents are encrypted at rest like uploads (associated data: the download id). A school
sees only its own base's downloads; another base's id answers ``NotFound``.
"""
from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import Base, Download, utcnow
from .errors import NotFound, ValidationFailed
from .security import audit
from .transfer.crypto import KeyRing
from .files import DATA_TYPES

__all__ = ["queue_download", "pending_downloads", "fetch_download", "acknowledge_download"]


def queue_download(session: Session, keyring: KeyRing, actor: str, laestabs: list[str], file_name: str,
                   content: bytes, data_type: str = "Student") -> list[Download]:
    """Queue one file for each base named by LAESTAB; all or nothing.

    Raises:
        ValidationFailed: no base, an unknown LAESTAB, an empty file or a bad data type.
        NotFound: a LAESTAB that is not a known base.
    """
    if not laestabs:
        raise ValidationFailed("name at least one base (LAESTAB)")
    if data_type not in DATA_TYPES:
        raise ValidationFailed(f"data type must be one of {', '.join(DATA_TYPES)}")
    if not content:
        raise ValidationFailed("the file is empty")
    if not file_name or len(file_name) > 260:
        raise ValidationFailed("the file name must be 1 to 260 characters")
    bases = {b.laestab: b for b in session.scalars(select(Base).where(Base.laestab.in_(laestabs)))}
    unknown = sorted(set(laestabs) - set(bases))
    if unknown:
        raise NotFound("unknown base(s): " + ", ".join(unknown))
    digest, now = hashlib.sha256(content).hexdigest(), utcnow()
    queued = []
    for laestab in dict.fromkeys(laestabs):
        download_id = str(uuid.uuid4())
        row = Download(id=download_id, base_id=bases[laestab].id, file_name=file_name, data_type=data_type,
                       total_bytes=len(content), sha256=digest, queued_at=now, queued_by=actor,
                       content=keyring.encrypt(content, download_id.encode()), key_id=keyring.current_key_id)
        session.add(row)
        audit(session, actor, "download.queue", "download", download_id,
              after={"base": laestab, "file_name": file_name, "bytes": len(content), "sha256": digest})
        queued.append(row)
    session.flush()
    return queued


def pending_downloads(session: Session, base_id: int) -> list[Download]:
    """The base's downloads not yet acknowledged, oldest first."""
    return list(session.scalars(select(Download).where(Download.base_id == base_id,
                                                       Download.acknowledged_at.is_(None))
                                .order_by(Download.queued_at, Download.id)))


def _own(session: Session, base_id: int, download_id: str) -> Download:
    row = session.get(Download, (download_id or "").strip().lower()) if download_id else None
    if row is None or row.base_id != base_id or row.content is None:
        raise NotFound(f"no download {download_id!r} for this base")
    return row


def fetch_download(session: Session, keyring: KeyRing, base_id: int, download_id: str) -> tuple[Download, bytes]:
    """A download and its decrypted content; marks it downloaded."""
    row = _own(session, base_id, download_id)
    content = keyring.decrypt(row.content, row.id.encode())
    row.downloaded_at = row.downloaded_at or utcnow()
    return row, content


def acknowledge_download(session: Session, base_id: int, download_id: str, actor: str) -> None:
    """The school has the file: it is no longer pending. Acknowledging twice is harmless."""
    row = _own(session, base_id, download_id)
    if row.acknowledged_at is None:
        row.acknowledged_at = utcnow()
        audit(session, actor, "download.acknowledge", "download", row.id)
