"""Bases: the establishments known to the LA, keyed by LAESTAB, and their B2B Student Base flag."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import Base, User
from ..errors import NotFound, ValidationFailed
from ..security import audit

__all__ = ["add_base", "get_base", "list_bases", "show_base", "set_b2b", "check_laestab"]


def check_laestab(laestab: str) -> str:
    """A LAESTAB is 7 digits: LA number (3) + establishment number (4)."""
    text = laestab.strip()
    if len(text) != 7 or not text.isascii() or not text.isdigit():
        raise ValidationFailed(f"LAESTAB must be 7 digits (LA + establishment number), not {laestab!r}")
    return text


def _snapshot(base: Base) -> dict[str, Any]:
    return {"laestab": base.laestab, "name": base.name, "phase": base.phase, "b2b_enabled": base.b2b_enabled}


def get_base(session: Session, laestab: str) -> Base:
    base = session.scalar(select(Base).where(Base.laestab == laestab.strip()))
    if base is None:
        raise NotFound(f"unknown base {laestab!r}")
    return base


def add_base(session: Session, actor: str, laestab: str, name: str, phase: str = "",
             b2b_enabled: bool = False) -> Base:
    """Create a base; audited. Raises ValidationFailed for a bad or duplicate LAESTAB."""
    laestab = check_laestab(laestab)
    if not name.strip():
        raise ValidationFailed("a base needs a name")
    if session.scalar(select(Base.id).where(Base.laestab == laestab)) is not None:
        raise ValidationFailed(f"base {laestab} already exists")
    base = Base(laestab=laestab, name=name.strip(), phase=phase.strip(), b2b_enabled=b2b_enabled)
    session.add(base)
    session.flush()
    audit(session, actor, "base.add", "base", laestab, None, _snapshot(base))
    return base


def list_bases(session: Session) -> list[dict[str, Any]]:
    users = (select(User.base_id, func.count().label("users")).where(User.base_id.is_not(None))
             .group_by(User.base_id).subquery())
    rows = session.execute(select(Base, func.coalesce(users.c.users, 0))
                           .outerjoin(users, users.c.base_id == Base.id).order_by(Base.laestab))
    return [dict(_snapshot(base), users=count) for base, count in rows]


def show_base(session: Session, laestab: str) -> dict[str, Any]:
    base = get_base(session, laestab)
    usernames = session.scalars(select(User.username).where(User.base_id == base.id).order_by(User.username))
    return dict(_snapshot(base), created_at=base.created_at, users=", ".join(usernames))


def set_b2b(session: Session, actor: str, laestab: str, enabled: bool) -> Base:
    """Set or clear the B2B Student Base flag; audited (also when unchanged, as a record of intent)."""
    base = get_base(session, laestab)
    before = _snapshot(base)
    base.b2b_enabled = enabled
    audit(session, actor, "base.set_b2b", "base", base.laestab, {"b2b_enabled": before["b2b_enabled"]},
          {"b2b_enabled": enabled})
    return base
