"""Virtual files (uploads and manual imports), their parts, the processing queue and downloads."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import BigId, Blob, JsonData, Model, utcnow


class VirtualFile(Model):
    """One transfer stored in the database: header, encrypted content, status and counts.

    ``content`` is the client's bytes as sent (gzip when the client compressed), encrypted;
    ``content_compression`` says which. After Delete Files the row stays as a tombstone
    with ``content`` emptied and ``deleted_at`` set.
    """

    __tablename__ = "virtual_files"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    file_guid: Mapped[str] = mapped_column(String(36))
    base_id: Mapped[int] = mapped_column(ForeignKey("bases.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(20), default="upload")  # upload | import
    imported_by: Mapped[str] = mapped_column(String(100), default="")
    task_id: Mapped[int | None] = mapped_column(BigInteger)
    data_type: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(260))
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    compression: Mapped[str] = mapped_column(String(10), default="None")
    part_count: Mapped[int] = mapped_column(Integer, default=1)
    parts_received: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), index=True)
    content: Mapped[bytes | None] = mapped_column(Blob)
    content_compression: Mapped[str] = mapped_column(String(10), default="None")
    key_id: Mapped[str] = mapped_column(String(40), default="")
    errors: Mapped[list | None] = mapped_column(JsonData)
    failure: Mapped[str] = mapped_column(Text, default="")
    pupil_count: Mapped[int] = mapped_column(Integer, default=0)
    matched_count: Mapped[int] = mapped_column(Integer, default=0)
    unmatched_count: Mapped[int] = mapped_column(Integer, default=0)
    conflict_count: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("base_id", "file_guid"),
                      Index(None, "base_id", "received_at"))


class FilePart(Model):
    __tablename__ = "file_parts"
    file_id: Mapped[str] = mapped_column(ForeignKey("virtual_files.id", ondelete="CASCADE"), primary_key=True)
    part_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    content: Mapped[bytes] = mapped_column(Blob)
    key_id: Mapped[str] = mapped_column(String(40), default="")
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class QueueEntry(Model):
    """A validated file waiting for processing; claimed by one worker at a time."""

    __tablename__ = "processing_queue"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("virtual_files.id", ondelete="CASCADE"), unique=True)
    enqueued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    available_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")


class Download(Model):
    """A file the LA queued for a base (LA -> school)."""

    __tablename__ = "downloads"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    base_id: Mapped[int] = mapped_column(ForeignKey("bases.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(260))
    data_type: Mapped[str] = mapped_column(String(20))
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes | None] = mapped_column(Blob)
    key_id: Mapped[str] = mapped_column(String(40), default="")
    queued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    queued_by: Mapped[str] = mapped_column(String(100), default="")
    downloaded_at: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
