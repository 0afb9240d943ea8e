"""Who may review: an LA user with the process's permission, or the local administrator (CLI)."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import Base, IncomingRecord, User
from ..errors import NotFound, ValidationFailed
from ..security import audit, check_la_access

__all__ = ["Actor", "allow", "check", "actor_name", "base_by_laestab", "page_bounds", "jsonable", "incoming_by_id"]

Actor = User | str  # a str is the CLI's local administrator, who has every permission


def actor_name(actor: Actor) -> str:
    return actor if isinstance(actor, str) else actor.username


def check(session: Session, actor: Actor, process: str, write: bool) -> str:
    """Refuse with PermissionDenied unless ``actor`` may do this; return the actor's name."""
    if not isinstance(actor, str):
        check_la_access(session, actor, process, write)
    return actor_name(actor)


def allow(session: Session, actor: Actor, process: str, action: str, object_type: str = "",
          object_id: Any = "", detail: str = "") -> str:
    """A read: check Read permission and audit who looked at what."""
    name = check(session, actor, process, write=False)
    audit(session, name, action, object_type, object_id, detail=detail)
    return name


def base_by_laestab(session: Session, laestab: str) -> Base:
    base = session.scalar(select(Base).where(Base.laestab == laestab))
    if base is None:
        raise NotFound(f"no base with LAESTAB {laestab}")
    return base


def incoming_by_id(session: Session, incoming_id: int, lock: bool = False) -> IncomingRecord:
    """The record; with ``lock``, read afresh and locked until commit (PostgreSQL), so two people
    deciding it at once are served one after the other."""
    record = session.get(IncomingRecord, incoming_id, with_for_update=lock or None, populate_existing=lock)
    if record is None:
        raise NotFound(f"no incoming record {incoming_id}")
    return record


def page_bounds(page: int, page_size: int) -> tuple[int, int]:
    if page < 1 or not 1 <= page_size <= 500:
        raise ValidationFailed("page must be >= 1 and page size 1 to 500")
    return (page - 1) * page_size, page_size


def jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value
