"""The durable processing queue: claim a file, give it back, finish or fail it.

A claim is a lease: ``claimed_until`` in the queue row. A worker that dies leaves the
lease to run out, and any worker then claims the file again. On PostgreSQL the claim
reads the next row ``FOR UPDATE SKIP LOCKED`` so workers on several hosts pass each
other instead of queueing on one row; on both databases the claiming UPDATE is a
compare-and-set on the lease, so two workers can never both win.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from ..db import QueueEntry, VirtualFile, is_sqlite, utcnow

__all__ = ["Claim", "LEASE_SECONDS", "claim_next", "enqueue", "finish", "give_back", "RETRY_DELAYS"]

LEASE_SECONDS = 600
# Wait before attempt 2, 3, ...; the last value repeats.
RETRY_DELAYS = (5, 60, 300)


@dataclass(frozen=True)
class Claim:
    file_id: str
    attempt: int
    worker: str
    claimed_until: datetime


def _claimable(now: datetime):
    return (select(QueueEntry.id, QueueEntry.file_id, QueueEntry.attempts)
            .join(VirtualFile, VirtualFile.id == QueueEntry.file_id)
            .where(QueueEntry.available_at <= now,
                   or_(QueueEntry.claimed_until.is_(None), QueueEntry.claimed_until < now),
                   VirtualFile.data_type == "Student",
                   VirtualFile.status.in_(("Received", "Processing")))
            .order_by(QueueEntry.available_at, QueueEntry.id)
            .limit(1))


def claim_next(session: Session, worker: str, now: datetime | None = None,
               lease_seconds: int = LEASE_SECONDS) -> Claim | None:
    """Claim the next waiting file for ``worker``; None when nothing waits.

    Call in its own short transaction: the claim must be committed before the work starts.
    """
    now = now or utcnow()
    query = _claimable(now)
    if not is_sqlite(session.get_bind()):
        query = query.with_for_update(skip_locked=True, of=QueueEntry)
    row = session.execute(query).first()
    if row is None:
        return None
    entry_id, file_id, attempts = row
    until = now + timedelta(seconds=lease_seconds)
    won = session.execute(
        update(QueueEntry)
        .where(QueueEntry.id == entry_id,
               or_(QueueEntry.claimed_until.is_(None), QueueEntry.claimed_until < now))
        .values(claimed_by=worker, claimed_until=until, attempts=QueueEntry.attempts + 1)
        .execution_options(synchronize_session=False)).rowcount
    if won != 1:
        return None
    session.execute(update(VirtualFile).where(VirtualFile.id == file_id).values(status="Processing")
                    .execution_options(synchronize_session=False))
    return Claim(file_id, attempts + 1, worker, until)


def enqueue(session: Session, file_id: str, now: datetime | None = None) -> None:
    """Put a file (back) on the queue with a fresh attempt count."""
    session.execute(delete(QueueEntry).where(QueueEntry.file_id == file_id))
    now = now or utcnow()
    session.add(QueueEntry(file_id=file_id, enqueued_at=now, available_at=now, attempts=0))


def finish(session: Session, claim: Claim) -> bool:
    """Drop the queue row of a file done with; False when the claim was lost meanwhile."""
    return session.execute(
        delete(QueueEntry).where(QueueEntry.file_id == claim.file_id, QueueEntry.claimed_by == claim.worker,
                                 QueueEntry.claimed_until == claim.claimed_until)
        .execution_options(synchronize_session=False)).rowcount == 1


def give_back(session: Session, claim: Claim, error: str, now: datetime | None = None) -> None:
    """Release a failed attempt: the file waits for its next attempt."""
    now = now or utcnow()
    delay = RETRY_DELAYS[min(claim.attempt, len(RETRY_DELAYS)) - 1]
    session.execute(
        update(QueueEntry).where(QueueEntry.file_id == claim.file_id)
        .values(claimed_by="", claimed_until=None, last_error=error[:4000],
                available_at=now + timedelta(seconds=delay))
        .execution_options(synchronize_session=False))
    session.execute(update(VirtualFile).where(VirtualFile.id == claim.file_id).values(status="Received")
                    .execution_options(synchronize_session=False))
