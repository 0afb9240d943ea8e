"""UploadFile: multi-part in any order, gzip, idempotency, XSD rejection, encryption at rest, queueing."""
from __future__ import annotations

import gzip
import hashlib
import uuid
from pathlib import Path

from sqlalchemy import func, select

from b2b_soap.db import FilePart, QueueEntry, VirtualFile, session_scope
from b2b_soap.files import read_content
from b2b_soap.processing import run_pending
from server import running_server, zeep_client
from service_setup import PASSWORD, ServiceEnv, file_header, student_file


def _parts(data: bytes, count: int) -> list[bytes]:
    size = -(-len(data) // count)
    return [data[i * size:(i + 1) * size] for i in range(count)]


def test_uploads(tmp_path: Path, database_url: str) -> None:
    env = ServiceEnv.create(tmp_path, database_url)
    env.add_school("9994000", "sims")
    with running_server(env.config_path) as srv:
        c = zeep_client(srv, "sims", PASSWORD)
        basic = zeep_client(srv, "sims", PASSWORD, basic=True)

        # multi-part, gzip per part, parts out of order and one repeated
        data = student_file(pupils=60, seed=3)
        guid = str(uuid.uuid4())
        parts = [gzip.compress(p) for p in _parts(data, 3)]
        receipts = []
        for number in (2, 3, 2):
            receipts.append(c.service.UploadFile(
                header=file_header(c, data, guid=guid, compression="Gzip", part=number, parts=3),
                content=parts[number - 1]))
        assert [(r.Status, r.PartsReceived, r.IsDuplicate) for r in receipts] == [
            ("Receiving", 1, False), ("Receiving", 2, False), ("Receiving", 2, True)]
        assert c.service.GetFileStatus(fileId=receipts[0].FileId).Status == "Receiving"
        done = basic.service.UploadFile(header=file_header(c, data, guid=guid, compression="Gzip", part=1, parts=3),
                                        content=parts[0])
        assert (done.FileId, done.Status, done.PartsReceived, done.IsDuplicate) == (
            receipts[0].FileId, "Received", 3, False)
        again = c.service.UploadFile(header=file_header(c, data, guid=guid, compression="Gzip", part=2, parts=3),
                                     content=parts[1])
        assert (again.FileId, again.Status, again.IsDuplicate) == (done.FileId, "Received", True)

        # single part, gzip; the same guid and bytes again answer the first receipt
        single = student_file(pupils=30, seed=4)
        header = file_header(c, single, compression="Gzip")
        first = c.service.UploadFile(header=header, content=gzip.compress(single))
        second = basic.service.UploadFile(header=header, content=gzip.compress(single))
        assert first.Status == "Received" and not first.IsDuplicate
        assert (second.FileId, second.IsDuplicate, second.ReceivedUtc) == (first.FileId, True, first.ReceivedUtc)

        # XSD-invalid, and a file from another base's LAESTAB: received once durable, then
        # Rejected by processing with their errors, not a fault
        invalid = single.replace(b"<Surname>", b"<Nickname>", 1).replace(b"</Surname>", b"</Nickname>", 1)
        rejected = c.service.UploadFile(header=file_header(c, invalid), content=invalid)
        foreign = student_file("9995000", pupils=5)
        receipt = c.service.UploadFile(header=file_header(c, foreign), content=foreign)
        assert (rejected.Status, receipt.Status) == ("Received", "Received")
        assert c.service.GetFileStatus(fileId=rejected.FileId).Status == "Received"
        with session_scope(env.ctx.sessions) as session:
            queued = set(session.scalars(select(QueueEntry.file_id)))
            assert session.scalar(select(func.count()).select_from(FilePart)) == 0
        assert queued == {done.FileId, first.FileId, rejected.FileId, receipt.FileId}

        outcomes = {r.file_id: r.status for r in run_pending(env.ctx)}
        assert outcomes == {done.FileId: "Processed", first.FileId: "Processed", rejected.FileId: "Rejected",
                            receipt.FileId: "Rejected"}
        status = c.service.GetFileStatus(fileId=rejected.FileId)
        assert status.Status == "Rejected" and status.Errors.FileError[0].Line > 0
        assert "Nickname" in status.Errors.FileError[0].Message
        errors = c.service.GetFileStatus(fileId=receipt.FileId).Errors.FileError
        assert any("9995000" in e.Message for e in errors)

    with session_scope(env.ctx.sessions) as session:
        files = {f.id: f for f in session.scalars(select(VirtualFile))}
        assert not session.scalars(select(QueueEntry.file_id)).all()
        multi = files[done.FileId]
        assert read_content(env.ctx.keyring, multi) == data
        assert hashlib.sha256(data).hexdigest() == multi.sha256
        assert data[:200] not in multi.content and multi.content_compression == "Gzip"
        assert read_content(env.ctx.keyring, files[first.FileId]) == single
        assert files[rejected.FileId].status == "Rejected" and files[rejected.FileId].errors
    env.close()
