"""The audit log: who did what, when, with the state before and after."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..db import AuditEntry, utcnow

__all__ = ["audit"]


def audit(session: Session, actor: str, action: str, object_type: str = "", object_id: Any = "",
          before: dict | None = None, after: dict | None = None, detail: str = "") -> None:
    session.add(AuditEntry(at=utcnow(), actor=actor, action=action, object_type=object_type,
                           object_id=str(object_id), before=before, after=after, detail=detail))
