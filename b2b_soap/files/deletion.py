"""Delete Files: the content of old processed or rejected files goes; the row stays as a tombstone."""
from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, exists, not_, select, update

from ..defaults import load_defaults
from ..db import AttainmentImport, FilePart, QueueEntry, VirtualFile, session_scope, utcnow

__all__ = ["delete_files", "DELETABLE_STATUSES"]

DELETABLE_STATUSES = ("Processed", "Rejected")
# Attainment files still being imported or resolved must keep their bytes.
_ATTAINMENT_DONE = ("imported", "done")
BATCH = 1000


def _deletable_files(cutoff, after: str) -> Any:
    unfinished_import = exists().where(AttainmentImport.file_id == VirtualFile.id,
                                       AttainmentImport.status.not_in(_ATTAINMENT_DONE))
    queued = exists().where(QueueEntry.file_id == VirtualFile.id)
    return (select(VirtualFile.id)
            .where(VirtualFile.status.in_(DELETABLE_STATUSES), VirtualFile.deleted_at.is_(None),
                   VirtualFile.received_at < cutoff, VirtualFile.id > after, not_(queued),
                   not_(unfinished_import))
            .order_by(VirtualFile.id).limit(BATCH))


def delete_files(ctx, retention_days: int | None = None, stop: threading.Event | None = None) -> dict[str, int]:
    """Delete the content and parts of processed or rejected files older than FILE_RETENTION_DAYS.

    The row stays as a tombstone (id, base, dates, checksum, counts) with ``deleted_at`` set.
    Files still queued, receiving, received, processing or failed are never touched.
    Works in batches of ``BATCH`` files, one transaction each, and stops between batches on ``stop``.
    """
    with session_scope(ctx.sessions) as session:
        days = load_defaults(session, ctx.settings).file_retention_days if retention_days is None else retention_days
    cutoff = utcnow() - timedelta(days=int(days))
    counts = {"deleted": 0, "parts_deleted": 0, "retention_days": int(days)}
    after = ""  # keyset paging on the id, so no batch rescans the tombstones of the previous ones
    while not (stop and stop.is_set()):
        with session_scope(ctx.sessions) as session:
            ids = session.scalars(_deletable_files(cutoff, after)).all()
            if not ids:
                break
            after = ids[-1]
            counts["parts_deleted"] += session.execute(
                delete(FilePart).where(FilePart.file_id.in_(ids))).rowcount
            session.execute(update(VirtualFile).where(VirtualFile.id.in_(ids))
                            .values(content=None, errors=None, deleted_at=utcnow())
                            .execution_options(synchronize_session=False))
            counts["deleted"] += len(ids)
    return counts
