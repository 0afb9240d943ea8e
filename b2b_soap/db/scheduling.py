"""Scheduled transfer tasks, maintenance job runs and alerts."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import BigId, JsonData, Model, utcnow


class ScheduledTask(Model):
    """What a base's SIMS sends or fetches, and when. One row per base."""

    __tablename__ = "scheduled_tasks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    base_id: Mapped[int] = mapped_column(ForeignKey("bases.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    data_type: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(10))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    owner: Mapped[str] = mapped_column(String(10))
    frequency: Mapped[str] = mapped_column(String(10))
    start_date: Mapped[date | None] = mapped_column(Date)
    time_of_day: Mapped[str] = mapped_column(String(5), default="")
    days_of_week: Mapped[str] = mapped_column(String(40), default="")
    day_of_month: Mapped[int | None] = mapped_column(Integer)
    nc_years: Mapped[str] = mapped_column(String(80), default="")
    include_leavers: Mapped[bool] = mapped_column(Boolean, default=False)
    aspect_hierarchy_id: Mapped[int | None] = mapped_column(ForeignKey("aspect_hierarchies.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    modified_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    modified_by: Mapped[str] = mapped_column(String(100), default="")


class JobRun(Model):
    """One fire of a maintenance job; unique per job and fire time, so each fire runs once."""

    __tablename__ = "job_runs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40), default="")
    fire_time: Mapped[datetime] = mapped_column(DateTime)
    worker: Mapped[str] = mapped_column(String(100), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str] = mapped_column(String(12), default="running")
    counts: Mapped[dict | None] = mapped_column(JsonData)
    error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("job", "fire_time"),)


class MaintenanceJob(Model):
    """A scheduled maintenance job the LA may add, change, pause and remove while workers run.

    A removed job keeps its row (``removed``) so that a default the LA removed is not seeded again.
    """

    __tablename__ = "maintenance_jobs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    action: Mapped[str] = mapped_column(String(40))
    trigger: Mapped[str] = mapped_column(String(10), default="cron")  # cron|interval
    cron: Mapped[str] = mapped_column(String(100), default="")
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    args: Mapped[dict] = mapped_column(JsonData, default=dict)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    origin: Mapped[str] = mapped_column(String(10), default="la")  # default|config|la
    modified_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    modified_by: Mapped[str] = mapped_column(String(100), default="")


class Alert(Model):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    trigger: Mapped[str] = mapped_column(String(80), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    recipients: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending|sent|logged
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
