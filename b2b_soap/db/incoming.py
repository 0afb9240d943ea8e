"""Incoming records, their match candidates, findings, conflicts, the B2B cache and match models."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, func, text)
from sqlalchemy.orm import Mapped, mapped_column

from .base import BigId, JsonData, Model, utcnow


UNMATCHED = "unmatched"
WAITING = text(f"status = '{UNMATCHED}'")
# the columns of each Unmatched list order's index
UNMATCHED_ORDERS = (("status", "kind", "base_id", "received_at", "id", "dob"), ("status", "kind", "dob", "id"),
                    ("status", "kind", "received_at", "id", "dob"),
                    ("status", "kind", "surname", "forename", "id", "dob"))


class IncomingRecord(Model):
    """One pupil or contact parsed from a virtual file, waiting to be matched or reviewed.

    ``seq`` is the record's position in its file, so re-processing a file after a crash
    rewrites the same rows instead of adding a second copy.
    """

    __tablename__ = "incoming_records"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("virtual_files.id", ondelete="CASCADE"))
    base_id: Mapped[int] = mapped_column(ForeignKey("bases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))  # pupil | contact
    pupil_id: Mapped[int | None] = mapped_column(ForeignKey("incoming_records.id", ondelete="CASCADE"),
                                                 index=True)
    sims_guid: Mapped[str] = mapped_column(String(36), default="")
    upn: Mapped[str] = mapped_column(String(13), default="")
    forename: Mapped[str] = mapped_column(String(100), default="")
    middle_names: Mapped[str] = mapped_column(String(200), default="")
    surname: Mapped[str] = mapped_column(String(100), default="")
    preferred_surname: Mapped[str] = mapped_column(String(100), default="")
    dob: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(1), default="")
    ncy: Mapped[str] = mapped_column(String(3), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    town: Mapped[str] = mapped_column(String(100), default="")
    postcode: Mapped[str] = mapped_column(String(8), default="")
    data: Mapped[dict | None] = mapped_column(JsonData)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # matched|unmatched|rejected|superseded
    decision: Mapped[str] = mapped_column(String(12), default="")  # guid|upn|auto|possible|none|manual|new
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    has_candidates: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    explanation: Mapped[dict | None] = mapped_column(JsonData)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[str] = mapped_column(String(100), default="")

    # one index per Unmatched list order, ending with dob so B2B_S_AGE is checked on the index, and
    # the name search's; on PostgreSQL only of the waiting rows, so that writing a file's (mostly
    # matched) records costs less
    __table_args__ = (UniqueConstraint("file_id", "seq"),
                      *(Index(None, *columns, postgresql_where=WAITING) for columns in UNMATCHED_ORDERS),
                      Index(None, "base_id", "sims_guid", "status"),
                      *(Index(f"ix_incoming_records_lower_{name}", func.lower(text(name)).label(name),
                              postgresql_ops={name: "text_pattern_ops"}, postgresql_where=WAITING)
                        for name in ("surname", "forename")))


class MatchCandidate(Model):
    __tablename__ = "match_candidates"
    incoming_id: Mapped[int] = mapped_column(ForeignKey("incoming_records.id", ondelete="CASCADE"),
                                             primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float)
    explanation: Mapped[dict | None] = mapped_column(JsonData)


class Finding(Model):
    """A data-quality finding inside a valid file (invalid UPN, future date, ...)."""

    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("virtual_files.id", ondelete="CASCADE"), index=True)
    incoming_id: Mapped[int | None] = mapped_column(ForeignKey("incoming_records.id", ondelete="CASCADE"),
                                                    index=True)
    code: Mapped[str] = mapped_column(String(40))
    field: Mapped[str] = mapped_column(String(40), default="")
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Conflict(Model):
    """A matched person's field whose incoming value differs from the LA's; one open per person+field."""

    __tablename__ = "conflicts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # indexed: undoing a match finds the conflicts of a person and of its incoming records
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(40))
    la_value: Mapped[str] = mapped_column(Text, default="")
    incoming_value: Mapped[str] = mapped_column(Text, default="")
    incoming_id: Mapped[int | None] = mapped_column(ForeignKey("incoming_records.id", ondelete="SET NULL"),
                                                    index=True)
    file_id: Mapped[str | None] = mapped_column(String(36))
    base_id: Mapped[int] = mapped_column(ForeignKey("bases.id"))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open|taken|kept|cleared|undone
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by: Mapped[str] = mapped_column(String(100), default="")

    __table_args__ = (
        Index("uq_conflicts_open_person_field", "person_id", "field", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index(None, "status", "base_id", "created_at"),
        Index(None, "status", "created_at", "id"),
    )


class CacheEntry(Model):
    """B2B cache: the last value imported per person and field."""

    __tablename__ = "b2b_cache"
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True)
    field: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    file_id: Mapped[str | None] = mapped_column(String(36))
    cached_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class MatchModelRow(Model):
    """Matching settings and trained m/u weights, stored as data."""

    __tablename__ = "match_models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    data: Mapped[dict] = mapped_column(JsonData)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")
