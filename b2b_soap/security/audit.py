"""The audit log: who did what, when, with the state before and after."""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy.orm import Session

from ..db import AuditEntry, bulk_insert, utcnow

__all__ = ["audit", "audit_many"]


def audit(session: Session, actor: str, action: str, object_type: str = "", object_id: Any = "",
          before: dict | None = None, after: dict | None = None, detail: str = "") -> None:
    session.add(AuditEntry(at=utcnow(), actor=actor, action=action, object_type=object_type,
                           object_id=str(object_id), before=before, after=after, detail=detail))


def audit_many(session: Session, actor: str, action: str, object_type: str,
               entries: Iterable[tuple[Any, dict | None, dict | None, str]]) -> None:
    """One audit row per ``(object_id, before, after, detail)``, written in one bulk insert."""
    now = utcnow()
    bulk_insert(session.connection(), AuditEntry.__table__,
                [{"at": now, "actor": actor, "action": action, "object_type": object_type, "object_id": str(oid),
                  "before": before, "after": after, "detail": detail} for oid, before, after, detail in entries])
