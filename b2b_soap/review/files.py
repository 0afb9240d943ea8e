"""Files and reports: per-base report, the file list, retry of a failed file, manual import."""
from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..context import AppContext
from ..db import Base, Conflict, Finding, IncomingRecord, ScheduledTask, VirtualFile, session_scope
from ..errors import DuplicateFile, NotFound, ValidationFailed
from ..files import FileStore, UploadHeader, Uploader, enqueue
from ..security import ADMINISTRATION, REPORTS, audit
from ..transfer import TransferError, TransferHeader, parse_header, transfer_kind
from ._access import Actor, allow, base_by_laestab, check, page_bounds

__all__ = ["base_report", "list_files", "retry_file", "import_file", "file_item"]

_RECENT_FINDINGS = 50
_IMPORT_NAMESPACE = uuid.UUID("6f0d3c1e-5b0a-4c53-9a7e-2b2f3d4c8a11")  # FileGuids of imported files without one


def file_item(vf: VirtualFile, laestab: str = "") -> dict[str, Any]:
    return {"id": vf.id, "base": laestab, "file_name": vf.file_name, "data_type": vf.data_type,
            "status": vf.status, "source": vf.source, "imported_by": vf.imported_by,
            "received_at": vf.received_at, "processed_at": vf.processed_at, "pupils": vf.pupil_count,
            "matched": vf.matched_count, "unmatched": vf.unmatched_count, "conflicts": vf.conflict_count,
            "failure": vf.failure, "errors": len(vf.errors or [])}


def list_files(session: Session, actor: Actor, *, base: str | None = None, status: str | None = None,
               page: int = 1, page_size: int = 50) -> dict[str, Any]:
    """Virtual files, newest first: ``{"total", "page", "page_size", "items"}``."""
    allow(session, actor, REPORTS, "review.list_files", "file", "", detail=f"base={base or ''}")
    offset, limit = page_bounds(page, page_size)
    query = select(VirtualFile, Base.laestab).join(Base, Base.id == VirtualFile.base_id)
    if base:
        query = query.where(VirtualFile.base_id == base_by_laestab(session, base).id)
    if status:
        query = query.where(VirtualFile.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(VirtualFile.received_at.desc()).offset(offset).limit(limit))
    return {"total": total, "page": page, "page_size": page_size, "items": [file_item(*row) for row in rows]}


def base_report(session: Session, actor: Actor, laestab: str) -> dict[str, Any]:
    """One base: last file, files by status, rejected files, waiting unmatched, open conflicts, findings."""
    allow(session, actor, REPORTS, "review.base_report", "base", laestab)
    base = base_by_laestab(session, laestab)
    last = session.scalar(select(VirtualFile).where(VirtualFile.base_id == base.id)
                          .order_by(VirtualFile.received_at.desc()).limit(1))
    by_status = dict(session.execute(select(VirtualFile.status, func.count()).where(VirtualFile.base_id == base.id)
                                     .group_by(VirtualFile.status)).all())
    rejected = session.scalars(select(VirtualFile).where(VirtualFile.base_id == base.id,
                                                         VirtualFile.status.in_(("Rejected", "Failed")))
                               .order_by(VirtualFile.received_at.desc()).limit(20))
    waiting = session.scalar(select(func.count()).select_from(IncomingRecord).where(
        IncomingRecord.base_id == base.id, IncomingRecord.status == "unmatched", IncomingRecord.kind == "pupil"))
    conflicts = session.scalar(select(func.count()).select_from(Conflict).where(
        Conflict.base_id == base.id, Conflict.status == "open"))
    findings = (select(Finding, IncomingRecord).join(IncomingRecord, IncomingRecord.id == Finding.incoming_id)
                .where(IncomingRecord.base_id == base.id))
    by_code = dict(session.execute(select(Finding.code, func.count()).join(
        IncomingRecord, IncomingRecord.id == Finding.incoming_id).where(IncomingRecord.base_id == base.id)
        .group_by(Finding.code)).all())
    recent = session.execute(findings.order_by(Finding.created_at.desc(), Finding.id.desc()).limit(_RECENT_FINDINGS))
    return {
        "base": base.laestab, "name": base.name,
        "last_file": file_item(last, base.laestab) if last else None,
        "files_by_status": by_status,
        "rejected_files": [{**file_item(vf, base.laestab), "error_list": vf.errors or []} for vf in rejected],
        "waiting_unmatched": waiting, "open_conflicts": conflicts, "findings_by_code": by_code,
        "recent_findings": [{"file_id": f.file_id, "incoming_id": f.incoming_id, "code": f.code, "field": f.field,
                             "message": f.message, "forename": r.forename, "surname": r.surname,
                             "created_at": f.created_at} for f, r in recent],
    }


def retry_file(session: Session, actor: Actor, file_id: str) -> dict[str, Any]:
    """Queue a Failed file again with a fresh attempt count."""
    name = check(session, actor, ADMINISTRATION, write=True)
    vf = session.get(VirtualFile, file_id)
    if vf is None:
        raise NotFound(f"no file {file_id}")
    if vf.status != "Failed":
        raise ValidationFailed(f"file {file_id} is {vf.status}; only Failed files can be retried")
    before = {"status": vf.status, "failure": vf.failure}
    vf.status, vf.failure = "Received", ""
    enqueue(session, vf.id)
    audit(session, name, "file.retry", "file", vf.id, before, {"status": "Received"})
    return {"id": vf.id, "status": vf.status}


def _import_header(data: bytes, laestab: str) -> tuple[str, TransferHeader | None]:
    """The file's kind and header; the header is None when the file is not valid enough to read it
    (the store then rejects it with its errors)."""
    kind = transfer_kind(data) or "Student"
    try:
        header = parse_header(data, kind)
    except TransferError:
        return kind, None
    if header.source_laestab != laestab:
        raise ValidationFailed(f"the file's header names base {header.source_laestab} (SourceLAESTAB), "
                               f"not {laestab}: import it for the base that sent it")
    return kind, header


def _check_task(session: Session, task_id: int | None, base: Base) -> None:
    task = session.get(ScheduledTask, task_id) if task_id is not None else None
    if task is not None and task.base_id not in (None, base.id):
        raise ValidationFailed(f"the file's TaskId {task_id} is a task of another base, not of {base.laestab}")


def _refuse_duplicate(session: Session, base: Base, file_guid: str) -> None:
    earlier = session.scalar(select(VirtualFile).where(VirtualFile.base_id == base.id,
                                                       VirtualFile.file_guid == file_guid))
    if earlier is not None:
        raise DuplicateFile(f"this file (FileGuid {file_guid}) was already received for base {base.laestab} "
                            f"on {earlier.received_at:%Y-%m-%d %H:%M} as file {earlier.id} "
                            f"({earlier.status}); nothing was stored")


def import_file(ctx: AppContext, actor: Actor, data: bytes, laestab: str, file_name: str) -> dict[str, Any]:
    """Store a transfer file the LA received another way, exactly as an upload from the base.

    FileGuid, TaskId and kind (Student or Attainment) come from the file itself, so a file SIMS
    made imports as SIMS would have sent it; a file without a FileGuid gets one made from its
    checksum. The same checks (size, checksum, then XSD and header against the base) and the same
    queue follow; the file records ``source='import'`` and who imported it.

    Returns:
        ``{"file_id", "data_type", "status", "errors"}``: a Student file is ``Received`` (queued;
        processing validates it, and it becomes ``Processed`` or ``Rejected``); an Attainment file
        is ``Received`` (waiting in the attainment import directory) or ``Rejected``.

    Raises:
        ValidationFailed: empty, or the header names another base or another base's task.
        DuplicateFile: this base already has a file with this FileGuid (or these bytes).
    """
    if not data:
        raise ValidationFailed("the file is empty")
    sha256 = hashlib.sha256(data).hexdigest()
    with session_scope(ctx.sessions) as session:
        name = check(session, actor, ADMINISTRATION, write=True)
        base = base_by_laestab(session, laestab)
        kind, header = _import_header(data, laestab)
        file_guid = (header and header.file_guid) or str(uuid.uuid5(_IMPORT_NAMESPACE, f"{laestab}:{sha256}"))
        task_id = header.task_id if header else None
        _check_task(session, task_id, base)
        _refuse_duplicate(session, base, file_guid)
        base_id = base.id
    user_id = None if isinstance(actor, str) else actor.id
    importer = Uploader(user_id, base_id, laestab, source="import", imported_by=name)
    receipt = FileStore(ctx).upload_whole(importer, UploadHeader(
        file_guid=file_guid, task_id=task_id, data_type=kind, file_name=file_name[:260] or "import.xml",
        total_bytes=len(data), sha256=sha256, compression="Gzip"), data)
    with session_scope(ctx.sessions) as session:
        vf = session.get(VirtualFile, receipt.file_id)
        audit(session, name, "file.import", "file", vf.id, None,
              {"base": laestab, "file_name": vf.file_name, "status": vf.status})
        return {"file_id": vf.id, "data_type": vf.data_type, "status": vf.status, "errors": vf.errors or []}
