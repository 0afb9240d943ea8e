"""Retention of personal data: decided incoming records, resolved conflicts and audit entries.

A maintenance action: each period comes from the job's ``args`` in the configuration;
a period left out is not enforced. Works in batches of ``BATCH`` rows, one transaction
each, and stops between batches when ``stop`` is set. Records still waiting for review
and open conflicts are never removed, nor the "person erased" audit tombstones.
"""
from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import delete, select

from ..context import AppContext
from ..db import PERSON_ERASED, AuditEntry, Conflict, IncomingRecord, session_scope, utcnow

__all__ = ["run_retention", "DECIDED", "KEEP_AUDIT_ACTIONS"]

BATCH = 1000
DECIDED = ("matched", "rejected")
KEEP_AUDIT_ACTIONS = (PERSON_ERASED,)


def _old_incoming(cutoff):
    # Contacts go with their pupil (pupil_id cascades), so only pupils and orphan contacts are picked.
    return (select(IncomingRecord.id)
            .where(IncomingRecord.status.in_(DECIDED), IncomingRecord.pupil_id.is_(None),
                   IncomingRecord.received_at < cutoff)
            .order_by(IncomingRecord.id).limit(BATCH))


def _old_conflicts(cutoff):
    return (select(Conflict.id).where(Conflict.status != "open", Conflict.resolved_at < cutoff)
            .order_by(Conflict.id).limit(BATCH))


def _old_audit(cutoff):
    return (select(AuditEntry.id).where(AuditEntry.at < cutoff, AuditEntry.action.not_in(KEEP_AUDIT_ACTIONS))
            .order_by(AuditEntry.id).limit(BATCH))


def _purge(ctx: AppContext, pick, model, days: int | None, stop: threading.Event | None) -> int:
    if days is None:
        return 0
    cutoff = utcnow() - timedelta(days=int(days))
    removed = 0
    while not (stop and stop.is_set()):
        with session_scope(ctx.sessions) as session:
            ids = session.scalars(pick(cutoff)).all()
            if not ids:
                break
            session.execute(delete(model).where(model.id.in_(ids)))
            removed += len(ids)
    return removed


def run_retention(ctx: AppContext, incoming_days: int | None = None, resolved_conflict_days: int | None = None,
                  audit_days: int | None = None, stop: threading.Event | None = None) -> dict[str, int]:
    """Delete what is older than its retention period; returns the counts removed.

    Args:
        incoming_days: matched or rejected incoming records received longer ago than this (their
            contacts, candidates and findings go with them).
        resolved_conflict_days: conflicts taken, kept or cleared longer ago than this.
        audit_days: audit entries older than this, except "person erased" tombstones.
    """
    return {
        "incoming_records_deleted": _purge(ctx, _old_incoming, IncomingRecord, incoming_days, stop),
        "conflicts_deleted": _purge(ctx, _old_conflicts, Conflict, resolved_conflict_days, stop),
        "audit_entries_deleted": _purge(ctx, _old_audit, AuditEntry, audit_days, stop),
    }
