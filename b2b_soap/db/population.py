"""The LA population: persons, their SIMS GUID links, carers and enrolments."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import BigId, Model, utcnow


class Person(Model):
    __tablename__ = "persons"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    upn: Mapped[str] = mapped_column(String(13), default="", index=True)
    forename: Mapped[str] = mapped_column(String(100), default="")
    middle_names: Mapped[str] = mapped_column(String(200), default="")
    surname: Mapped[str] = mapped_column(String(100), default="", index=True)
    preferred_surname: Mapped[str] = mapped_column(String(100), default="")
    dob: Mapped[date | None] = mapped_column(Date, index=True)
    gender: Mapped[str] = mapped_column(String(1), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    address_lines: Mapped[str] = mapped_column(String(500), default="")
    town: Mapped[str] = mapped_column(String(100), default="")
    postcode: Mapped[str] = mapped_column(String(8), default="", index=True)
    uprn: Mapped[str] = mapped_column(String(12), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # indexed: every processing worker asks for the persons changed since its last look
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class PersonIdentifier(Model):
    """Base + SIMS GUID -> person, remembered once a pupil or contact is matched."""

    __tablename__ = "person_identifiers"
    base_id: Mapped[int] = mapped_column(ForeignKey("bases.id"), primary_key=True)
    sims_guid: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CarerLink(Model):
    __tablename__ = "carer_links"
    child_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True)
    carer_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True,
                                          index=True)
    relationship: Mapped[str] = mapped_column(String(40), default="")
    parental_responsibility: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Enrolment(Model):
    __tablename__ = "enrolments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    base_id: Mapped[int] = mapped_column(ForeignKey("bases.id"), index=True)
    ncy: Mapped[str] = mapped_column(String(3), default="")
    enrol_status: Mapped[str] = mapped_column(String(2), default="")
    entry_date: Mapped[date | None] = mapped_column(Date)
    leaving_date: Mapped[date | None] = mapped_column(Date)
    source_file_id: Mapped[str | None] = mapped_column(String(36))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("person_id", "base_id"),)
