"""The processing queue: claims and leases, a worker killed mid-file, failure and retry."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from b2b_soap.db import (Conflict, IncomingRecord, MatchCandidate, QueueEntry, VirtualFile, session_scope, utcnow)
from b2b_soap.files import claim_next
from b2b_soap.processing import AfterMatch, run_pending
from b2b_soap.processing.run import process_claimed, process_next
from b2b_soap.review import retry_file
from b2b_soap.transfer.writer import make_example_pupils
from processing_support import add_base, add_bystander, add_person, pupil, upload

HOME = dict(address="12 High Street", town="Exampleton", postcode="EX1 2AB")


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even ``except Exception``."""


def counts(ctx, file_id):
    with session_scope(ctx.sessions) as session:
        records = session.scalar(select(func.count()).select_from(IncomingRecord)
                                 .where(IncomingRecord.file_id == file_id))
        candidates = session.scalar(select(func.count()).select_from(MatchCandidate))
        conflicts = session.scalar(select(func.count()).select_from(Conflict))
        vf = session.get(VirtualFile, file_id)
        return records, candidates, conflicts, vf.status


def test_claims_are_exclusive_and_leases_expire(ctx):
    base_id = add_base(ctx)
    file_id = upload(ctx, base_id, make_example_pupils(2, seed=1, estab="4001"))
    with session_scope(ctx.sessions) as session:
        first = claim_next(session, "worker-a")
    with session_scope(ctx.sessions) as session:
        assert claim_next(session, "worker-b") is None
        assert session.get(VirtualFile, file_id).status == "Processing"
    later = first.claimed_until + timedelta(seconds=1)
    with session_scope(ctx.sessions) as session:
        second = claim_next(session, "worker-b", now=later)
    assert (second.file_id, second.attempt, second.worker) == (file_id, 2, "worker-b")


def test_killed_mid_file_then_restarted_ends_with_one_complete_run(ctx, monkeypatch):
    add_bystander(ctx)
    base_id = add_base(ctx)
    add_person(ctx, forename="Leo", surname="Baker", dob=date(2012, 4, 12), gender="M", **HOME)
    pupils = make_example_pupils(30, seed=7, estab="4001") + [pupil("Leo", "Baker-Smith", date(2012, 4, 12))]
    file_id = upload(ctx, base_id, pupils)
    with session_scope(ctx.sessions) as session:
        claim = claim_next(session, "doomed")

    def die(self, matches):
        self.session.flush()  # the rows so far reach the database, then the process dies
        raise Killed()

    with monkeypatch.context() as patch:
        patch.setattr(AfterMatch, "apply", die)
        with pytest.raises(Killed):
            process_claimed(ctx, claim)
    assert counts(ctx, file_id) == (0, 0, 0, "Processing")
    assert process_next(ctx, "survivor") is None  # the lease still holds
    with session_scope(ctx.sessions) as session:
        session.execute(QueueEntry.__table__.update().values(claimed_until=utcnow() - timedelta(seconds=1)))
    [result] = run_pending(ctx, "survivor")
    assert result.status == "Processed"
    records, candidates, conflicts, status = counts(ctx, file_id)
    contacts = sum(len(p.contacts) for p in pupils)
    assert (records, conflicts, status) == (len(pupils) + contacts, 1, "Processed")
    with session_scope(ctx.sessions) as session:
        vf = session.get(VirtualFile, file_id)
        assert (vf.pupil_count, vf.matched_count + vf.unmatched_count) == (31, 31)
        assert session.scalar(select(func.count()).select_from(QueueEntry)) == 0


def test_failing_file_is_retried_then_failed_then_retried_by_hand(ctx, monkeypatch):
    base_id = add_base(ctx)
    file_id = upload(ctx, base_id, make_example_pupils(3, seed=2, estab="4001"))

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr("b2b_soap.processing.run.link_batch", broken)
        outcomes = []
        for attempt in range(ctx.settings.processing.max_attempts):
            with session_scope(ctx.sessions) as session:  # the retry delay has passed
                session.execute(QueueEntry.__table__.update().values(available_at=utcnow()))
            outcomes.append(process_next(ctx, "w").status)
    assert outcomes == ["Retry"] * (ctx.settings.processing.max_attempts - 1) + ["Failed"]
    with session_scope(ctx.sessions) as session:
        vf = session.get(VirtualFile, file_id)
        assert vf.status == "Failed" and "database went away" in vf.failure
        retry_file(session, "admin", file_id)
    [result] = run_pending(ctx)
    assert result.status == "Processed" and result.pupils == 3


def test_undecryptable_file_fails_at_once_and_the_files_waiting_after_it_are_processed(ctx):
    base_id = add_base(ctx)
    # the failing file sorts after the waiting one: failing it must not drop a file of a lower id
    waiting, file_id = sorted(upload(ctx, base_id, make_example_pupils(1, seed=seed, estab="4001"))
                              for seed in (3, 4))
    with session_scope(ctx.sessions) as session:
        vf = session.get(VirtualFile, file_id)
        vf.content = vf.content[:-1] + bytes([vf.content[-1] ^ 1])
        session.execute(QueueEntry.__table__.update().where(QueueEntry.file_id == file_id)
                        .values(available_at=utcnow() - timedelta(minutes=1)))  # the first in the queue
    assert [(r.file_id, r.status) for r in run_pending(ctx)] == [(file_id, "Failed"), (waiting, "Processed")]
    with session_scope(ctx.sessions) as session:
        assert "DecryptionError" in session.get(VirtualFile, file_id).failure


def test_worker_thread_processes_uploads(ctx):
    from b2b_soap.processing import Worker
    base_id = add_base(ctx)
    file_id = upload(ctx, base_id, make_example_pupils(2, seed=4, estab="4001"))
    worker = Worker(ctx, poll_seconds=0.05).start()
    try:
        import time
        deadline = time.monotonic() + 30
        while counts(ctx, file_id)[3] != "Processed" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert counts(ctx, file_id)[3] == "Processed"
