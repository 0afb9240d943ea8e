"""One open review item per (base, kind, SIMS GUID), whatever the number of files.

When a file is written, its records meet what the base sent before under the same GUIDs,
read in one query per file (IN-lists over the file's GUIDs):

- an open (unmatched) item of an earlier file is closed as ``superseded`` by the last
  record of this file with its GUID, whatever that record's outcome (audited);
- within the file only the last record of a GUID can stay open: a carer's GUID comes once
  per child, and deciding the open one settles the others (see ``review.unmatched``);
- an open item of a file received after this one (files processed out of order) stays,
  and this file's records of that GUID are closed as ``superseded`` instead;
- a GUID the LA rejected at this base closes a record that would be queued as ``rejected``
  again, with the recorded reason; a GUID the LA matched or created a person for is linked
  (``PersonIdentifier``), which linking applies.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ..db import IncomingRecord, VirtualFile, one_of, utcnow
from ..security import audit_many
from .incoming import Parsed
from .linking import Outcome

__all__ = ["ReviewQueue", "count_decided", "OPEN", "REJECTED", "SUPERSEDED"]

OPEN, REJECTED, SUPERSEDED = "unmatched", "rejected", "superseded"
ACTOR = "processing"

Key = tuple[str, str]  # kind, SIMS GUID


@dataclass(frozen=True)
class _Item:
    id: int
    file_id: str
    received_at: datetime


@dataclass
class _Earlier:
    open: list[_Item] = field(default_factory=list)
    rejection: str | None = None


def _key(p: Parsed) -> Key:
    return p.kind, p.row["sims_guid"]


class ReviewQueue:
    """The review items one file meets, read once inside the file's write transaction."""

    def __init__(self, session: Session, vf: VirtualFile, parsed: Sequence[Parsed]) -> None:
        self.session, self.vf = session, vf
        self.last: dict[Key, int] = {_key(p): p.seq for p in parsed if p.row["sims_guid"]}
        self.earlier: dict[Key, _Earlier] = defaultdict(_Earlier)
        wanted = sorted({guid for _, guid in self.last})
        columns = (IncomingRecord.id, IncomingRecord.kind, IncomingRecord.sims_guid, IncomingRecord.status,
                   IncomingRecord.file_id, IncomingRecord.received_at, IncomingRecord.reason)
        for among in one_of(session, IncomingRecord.sims_guid, wanted):
            rows = session.execute(select(*columns).where(
                IncomingRecord.base_id == vf.base_id, among,
                IncomingRecord.status.in_((OPEN, REJECTED)), IncomingRecord.file_id != vf.id)
                .order_by(IncomingRecord.received_at, IncomingRecord.id))
            for row in rows:
                earlier = self.earlier[(row.kind, row.sims_guid)]
                if row.status == OPEN:
                    earlier.open.append(_Item(row.id, row.file_id, row.received_at))
                else:
                    earlier.rejection = row.reason  # ordered, so the latest rejection wins

    def _newer(self, key: Key) -> _Item | None:
        return next((i for i in self.earlier[key].open if i.received_at > self.vf.received_at), None)

    def settle(self, parsed: Sequence[Parsed], outcomes: dict[int, Outcome]) -> None:
        """Close the records of this file that must not be queued, before they are written."""
        for p in parsed:
            outcome, key = outcomes[p.seq], _key(p)
            if outcome.status != OPEN or key not in self.last:
                continue
            newer = self._newer(key)
            if self.earlier[key].rejection is not None:
                outcome.status, outcome.reason = REJECTED, self.earlier[key].rejection
            elif newer is not None:
                outcome.status = SUPERSEDED
                outcome.reason = f"superseded: incoming record {newer.id} from a newer file is waiting"
            elif self.last[key] != p.seq:
                outcome.status = SUPERSEDED
                outcome.reason = "superseded by a later record of this file with the same SIMS GUID"

    def supersede(self, ids: dict[int, int]) -> int:
        """Close the earlier files' open items that this file's records replace; returns how many."""
        replaced = [(key[0], item, ids[seq]) for key, seq in self.last.items() if self._newer(key) is None
                    for item in self.earlier[key].open]
        if not replaced:
            return 0
        now = utcnow()
        # in id order, so that workers writing files of one base concurrently lock rows in the same order
        rows = sorted(({"item_id": item.id, "why": f"superseded by incoming record {by} of file {self.vf.id}"}
                       for _, item, by in replaced), key=lambda row: row["item_id"])
        table = IncomingRecord.__table__
        self.session.connection().execute(
            update(table).where(table.c.id == bindparam("item_id"))
            .values(status=SUPERSEDED, reason=bindparam("why"), decided_at=now, decided_by=ACTOR), rows)
        audit_many(self.session, ACTOR, "review.supersede", "incoming",
                   ((row["item_id"], {"status": OPEN}, {"status": SUPERSEDED}, row["why"]) for row in rows))
        for file_id, count in sorted(Counter(item.file_id for kind, item, _ in replaced if kind == "pupil").items()):
            count_decided(self.session, file_id, unmatched=-count)
        return len(rows)


def count_decided(session: Session, file_id: str, matched: int = 0, unmatched: int = 0) -> None:
    """Keep a file's matched and waiting counts in step with later decisions on its pupils."""
    session.execute(update(VirtualFile).where(VirtualFile.id == file_id).values(
        matched_count=VirtualFile.matched_count + matched, unmatched_count=VirtualFile.unmatched_count + unmatched)
        .execution_options(synchronize_session=False))
