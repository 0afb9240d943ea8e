"""Aspect hierarchies, aspects, attainment results, import tracking and suspense."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import BigId, JsonData, Model, utcnow


class AspectHierarchy(Model):
    __tablename__ = "aspect_hierarchies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Aspect(Model):
    """A result type: a grade from a grade set, a mark in a range, or text."""

    __tablename__ = "aspects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    result_type: Mapped[str] = mapped_column(String(10))  # grade | mark | text
    grade_set: Mapped[list | None] = mapped_column(JsonData)
    mark_min: Mapped[float | None] = mapped_column(Float)
    mark_max: Mapped[float | None] = mapped_column(Float)
    ncys: Mapped[str] = mapped_column(String(80), default="")


class HierarchyAspect(Model):
    __tablename__ = "hierarchy_aspects"
    hierarchy_id: Mapped[int] = mapped_column(ForeignKey("aspect_hierarchies.id", ondelete="CASCADE"),
                                              primary_key=True)
    aspect_id: Mapped[int] = mapped_column(ForeignKey("aspects.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class AttainmentResult(Model):
    __tablename__ = "attainment_results"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    base_id: Mapped[int] = mapped_column(ForeignKey("bases.id"), index=True)
    aspect_id: Mapped[int] = mapped_column(ForeignKey("aspects.id"), index=True)
    hierarchy_id: Mapped[int | None] = mapped_column(ForeignKey("aspect_hierarchies.id"))
    ncy: Mapped[str] = mapped_column(String(3), default="")
    value: Mapped[str] = mapped_column(String(200))
    collection_date: Mapped[date] = mapped_column(Date)
    file_id: Mapped[str | None] = mapped_column(String(36))
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("person_id", "aspect_id", "collection_date"),)


class AttainmentImport(Model):
    """An attainment file written to the import directory and its import state."""

    __tablename__ = "attainment_imports"
    file_id: Mapped[str] = mapped_column(ForeignKey("virtual_files.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(500))
    # waiting | imported | failed | suspense | done | deleted
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    error: Mapped[str] = mapped_column(Text, default="")
    written_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    attempted_at: Mapped[datetime | None] = mapped_column(DateTime)
    imported_at: Mapped[datetime | None] = mapped_column(DateTime)


class SuspenseItem(Model):
    __tablename__ = "suspense_items"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("virtual_files.id", ondelete="CASCADE"), index=True)
    base_id: Mapped[int] = mapped_column(ForeignKey("bases.id"))
    sims_guid: Mapped[str] = mapped_column(String(36), default="")
    upn: Mapped[str] = mapped_column(String(13), default="")
    forename: Mapped[str] = mapped_column(String(100), default="")
    surname: Mapped[str] = mapped_column(String(100), default="")
    dob: Mapped[date | None] = mapped_column(Date)
    ncy: Mapped[str] = mapped_column(String(3), default="")
    aspect_code: Mapped[str] = mapped_column(String(50))
    value: Mapped[str] = mapped_column(String(200))
    collection_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JsonData)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)  # open|resolved|discarded
    resolved_by: Mapped[str] = mapped_column(String(100), default="")
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
