"""The receipt of uploads: they become encrypted database records, checksummed and queued.

An upload is acknowledged once it is durable, not once it is validated: a Student file is
decoded against the size cap and its checksum checked, then written in one short
transaction with its queue entry, and the worker validates it as it parses it. An
Attainment file is validated here (it goes straight to its import directory). Parts of a
multi-part file are stored encrypted as they come (any order; a repeated part is
harmless); the call that brings the last part checks the whole file and replaces the
parts by the file's content in the same transaction. So a crash
leaves either nothing, a ``Receiving`` file whose missing parts can be sent again, or a
complete record: never half a file or a queue row without its file.

Stored content is the client's bytes as sent, encrypted (see :mod:`.content`, its one reader).
"""
from __future__ import annotations

import gzip
import hashlib
import re
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Iterable, Iterator

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import metrics
from ..licensing import ATTAINMENT_FEATURES, require_features
from ..context import AppContext
from ..attainment import accept_attainment_file
from ..db import FilePart, QueueEntry, ScheduledTask, VirtualFile, is_sqlite, session_scope, utcnow
from ..errors import ChecksumMismatch, DuplicateFile, NotFound, PayloadTooLarge, ServerBusy, ValidationFailed
from ..transfer.compression import check_part, inflate_parts
from ..transfer.crypto import KeyRing
from ..transfer.errors import CorruptCompressionError, PayloadTooLargeError, UnknownCompressionError
from ..transfer.validate import FileError, check_header, validate_transfer
from .rejection import reject

__all__ = ["UploadHeader", "Uploader", "Receipt", "FileStore",
           "DATA_TYPES", "COMPRESSIONS"]

DATA_TYPES = ("Student", "Attainment")
COMPRESSIONS = ("None", "Gzip")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
GZIP_MAGIC = b"\x1f\x8b"
_WHOLE_FILE_FIELDS = (("Sha256", "sha256"), ("TotalBytes", "total_bytes"), ("PartCount", "part_count"),
                      ("DataType", "data_type"), ("Compression", "compression"))


@dataclass(frozen=True)
class UploadHeader:
    """The FileHeader of one UploadFile call."""

    file_guid: str
    data_type: str
    file_name: str
    total_bytes: int
    sha256: str
    compression: str = "None"
    part_number: int = 1
    part_count: int = 1
    task_id: int | None = None
    created_utc: datetime | None = None


@dataclass(frozen=True)
class Uploader:
    """Who sends: the school user and its base, or an LA user importing a file for the base."""

    user_id: int | None
    base_id: int
    laestab: str
    source: str = "upload"  # upload | import
    imported_by: str = ""


@dataclass(frozen=True)
class Receipt:
    file_id: str
    status: str
    is_duplicate: bool
    parts_received: int
    received_utc: datetime


def _most_sent_bytes(cap: int, part_count: int) -> int:
    """What the parts of a file of at most ``cap`` bytes can take: gzip adds a little per block and member."""
    return cap + cap // 100 + 1024 * part_count


def _check_task(session: Session, uploader: Uploader, task_id: int | None) -> None:
    """An upload's TaskId must name a task of the sending base (deleted ones too: the file was made under it).

    A manual import takes its TaskId from the file, which may come from another system: the
    import checks it against the base itself, and a TaskId the file's task is not makes it Rejected."""
    if task_id is None or uploader.source == "import":
        return
    task = session.get(ScheduledTask, task_id)
    if task is None or task.base_id != uploader.base_id:
        raise NotFound(f"no task {task_id} for base {uploader.laestab}")


def _receipt(vf: VirtualFile, duplicate: bool) -> Receipt:
    return Receipt(vf.id, vf.status, duplicate, vf.parts_received, vf.received_at)


def _check_header(header: UploadHeader) -> UploadHeader:
    problems = []
    try:
        guid = str(uuid.UUID(header.file_guid or ""))
    except ValueError:
        guid = ""
        problems.append("FileGuid is not a GUID")
    if header.data_type not in DATA_TYPES:
        problems.append(f"DataType must be one of {', '.join(DATA_TYPES)}")
    if header.compression not in COMPRESSIONS:
        problems.append(f"Compression must be one of {', '.join(COMPRESSIONS)}")
    if not header.file_name or len(header.file_name) > 260:
        problems.append("FileName must be 1 to 260 characters")
    if header.total_bytes is None or header.total_bytes < 1:
        problems.append("TotalBytes must be at least 1")
    if not _SHA256.fullmatch(header.sha256 or ""):
        problems.append("Sha256 must be 64 hexadecimal characters")
    if not header.part_count or not 1 <= header.part_count <= 10_000:
        problems.append("PartCount must be 1 to 10000")
    elif not header.part_number or not 1 <= header.part_number <= header.part_count:
        problems.append("PartNumber must be 1 to PartCount")
    if problems:
        raise ValidationFailed("invalid FileHeader: " + "; ".join(problems))
    return UploadHeader(guid, header.data_type, header.file_name, header.total_bytes, header.sha256.lower(),
                        header.compression, header.part_number, header.part_count, header.task_id,
                        header.created_utc)


@contextmanager
def _decoding(cap: int) -> Iterator[None]:
    """Turn decompression errors into the faults a client can act on."""
    try:
        yield
    except PayloadTooLargeError:
        raise PayloadTooLarge(f"the content decompresses to more than {cap} bytes") from None
    except (CorruptCompressionError, UnknownCompressionError) as exc:
        raise ValidationFailed(f"content cannot be decompressed: {exc}") from None


def _check_sum(header: UploadHeader, chunks: Iterable[bytes]) -> None:
    """Refuse content whose plain bytes are not the header's TotalBytes and Sha256 (read as they inflate)."""
    digest, size, head = hashlib.sha256(), 0, b""
    for chunk in chunks:
        head = head or chunk[:2]
        digest.update(chunk)
        size += len(chunk)
    if size != header.total_bytes or digest.hexdigest() != header.sha256:
        hint = ("the content looks gzip-compressed: set Compression=Gzip"
                if header.compression == "None" and head.startswith(GZIP_MAGIC) else "send the file again")
        raise ChecksumMismatch(f"the content ({size} bytes) does not match the header's TotalBytes "
                               f"and Sha256; {hint}")


class FileStore:
    """Uploads for one process: limits from settings, a bound on uploads in progress."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self._slots = threading.BoundedSemaphore(self.settings.server.max_concurrent_uploads)
        self._assembly = threading.Lock()  # SQLite: one part writer at a time (PostgreSQL locks rows)

    @contextmanager
    def _slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self.settings.server.upload_wait_seconds):
            raise ServerBusy("too many uploads in progress; retry in a minute")
        try:
            yield
        finally:
            self._slots.release()

    def max_bytes(self, data_type: str) -> int:
        storage = self.settings.storage
        return storage.max_attainment_file_bytes if data_type == "Attainment" else storage.max_file_bytes

    def upload(self, uploader: Uploader, header: UploadHeader, content: bytes) -> Receipt:
        """Store one part of an upload; the receipt of the file it belongs to.

        Raises:
            ValidationFailed, PayloadTooLarge, NotLicensed, ChecksumMismatch, DuplicateFile, ServerBusy.
        """
        header = _check_header(header)
        limit = self.max_bytes(header.data_type)
        if header.total_bytes > limit:
            raise PayloadTooLarge(f"TotalBytes {header.total_bytes} is over the {limit}-byte limit "
                                  f"for {header.data_type} files")
        if len(content) > self.settings.storage.max_part_bytes:
            raise PayloadTooLarge(f"one part may carry at most {self.settings.storage.max_part_bytes} bytes; "
                                  "send the file in more parts")
        if not content:
            raise ValidationFailed("content is empty")
        with session_scope(self.ctx.sessions) as session:
            if header.data_type == "Attainment":
                require_features(session, self.settings, *ATTAINMENT_FEATURES)
            _check_task(session, uploader, header.task_id)
            existing = self._existing(session, uploader, header)
        if existing is not None and existing.status != "Receiving":
            return _receipt(existing, True)
        metrics.count_upload(header.data_type, len(content))
        with self._slot():
            if header.part_count == 1:
                return self._store_whole(uploader, header, content)
            return self._store_part(uploader, header, content)

    def upload_whole(self, uploader: Uploader, header: UploadHeader, data: bytes) -> Receipt:
        """Store a whole plain file as its base would have sent it: gzip, in as many parts
        (gzip members) as the part limit needs; ``header`` describes the plain file."""
        max_part = self.settings.storage.max_part_bytes
        whole = gzip.compress(data, mtime=0)
        parts = [whole] if len(whole) <= max_part else [
            gzip.compress(data[i:i + max_part], mtime=0) for i in range(0, len(data), max_part)]
        for number, part in enumerate(parts, start=1):
            receipt = self.upload(uploader, replace(header, compression="Gzip", part_number=number,
                                                    part_count=len(parts)), part)
        return receipt

    def _existing(self, session: Session, uploader: Uploader, header: UploadHeader,
                  lock: bool = False) -> VirtualFile | None:
        query = select(VirtualFile).where(VirtualFile.base_id == uploader.base_id,
                                          VirtualFile.file_guid == header.file_guid)
        vf = session.scalar(query.with_for_update() if lock else query)
        differences = [] if vf is None else [
            f"{name} {getattr(header, key)} (the earlier parts said {getattr(vf, key)})"
            for name, key in _WHOLE_FILE_FIELDS if getattr(header, key) != getattr(vf, key)]
        if differences and vf.status == "Receiving":
            raise ValidationFailed(f"part {header.part_number} of FileGuid {header.file_guid} differs from the "
                                   f"parts already received: {'; '.join(differences)}. Every part carries the "
                                   "header of the whole file")
        if differences:
            raise DuplicateFile(f"FileGuid {header.file_guid} was already used for a different file "
                                f"(file id {vf.id}); use a new FileGuid for new content")
        return vf

    def _check(self, uploader: Uploader, header: UploadHeader, parts: list[bytes], cap: int
               ) -> tuple[list[FileError], bytes | None]:
        """Decode ``parts`` against ``cap`` and check the checksum; a Student file is validated later,
        by the worker, so only an Attainment file is held whole here, validated, and returned
        with its errors."""
        with _decoding(cap):  # one running total over all parts: a bomb stops at the cap
            chunks = inflate_parts(parts, header.compression, cap)  # type: ignore[arg-type]
            if header.data_type != "Attainment":
                _check_sum(header, chunks)
                return [], None
            data = b"".join(chunks)
        _check_sum(header, (data,))
        result = validate_transfer(data, "Attainment")
        if not result.ok:
            return result.errors, data
        return check_header(result.header, uploader.laestab, self.settings.la.number,
                            task_id=header.task_id, file_guid=header.file_guid), data

    def _new_file(self, uploader: Uploader, header: UploadHeader, now: datetime) -> VirtualFile:
        return VirtualFile(id=str(uuid.uuid4()), file_guid=header.file_guid, base_id=uploader.base_id,
                           user_id=uploader.user_id, source=uploader.source,
                           imported_by=uploader.imported_by, task_id=header.task_id,
                           data_type=header.data_type, file_name=header.file_name,
                           total_bytes=header.total_bytes, sha256=header.sha256,
                           compression=header.compression, part_count=header.part_count,
                           parts_received=0, status="Receiving", received_at=now,
                           content_compression=header.compression)

    def _complete(self, session: Session, uploader: Uploader, vf: VirtualFile, errors: list[FileError],
                  raw: bytes, data: bytes | None, now: datetime) -> None:
        """Store the content; a Student file goes to the processing queue, a valid attainment file
        to its directory."""
        keyring = self.ctx.keyring
        vf.content, vf.key_id = keyring.encrypt(raw, vf.id.encode()), keyring.current_key_id
        vf.status, vf.completed_at, vf.parts_received = "Received", now, vf.part_count
        if errors:
            reject(session, self.settings, vf, uploader.laestab, errors)
        elif vf.data_type == "Attainment":
            accept_attainment_file(session, self.ctx.settings, vf, data)
        else:
            session.add(QueueEntry(file_id=vf.id, enqueued_at=now, available_at=now))

    def _store_whole(self, uploader: Uploader, header: UploadHeader, content: bytes) -> Receipt:
        errors, data = self._check(uploader, header, [content], self.max_bytes(header.data_type))
        now = utcnow()
        try:
            with session_scope(self.ctx.sessions) as session:
                vf = self._new_file(uploader, header, now)
                session.add(vf)
                session.flush()
                self._complete(session, uploader, vf, errors, content, data, now)
        except IntegrityError:  # the same FileGuid arrived at the same time: one wins
            with session_scope(self.ctx.sessions) as session:
                vf = self._existing(session, uploader, header)
            if vf is None:
                raise
            return _receipt(vf, True)
        return _receipt(vf, False)

    @contextmanager
    def _assembly_lock(self) -> Iterator[None]:
        if is_sqlite(self.ctx.engine):
            with self._assembly:
                yield
        else:
            yield

    def _store_part(self, uploader: Uploader, header: UploadHeader, content: bytes) -> Receipt:
        cap = self.max_bytes(header.data_type)
        with _decoding(cap):  # refuse a bad part before storing it
            check_part(content, header.compression, cap)  # type: ignore[arg-type]
        keyring = self.ctx.keyring
        with self._assembly_lock():
            for attempt in range(2):
                try:
                    with session_scope(self.ctx.sessions) as session:
                        return self._add_part(session, keyring, uploader, header, content, cap)
                except IntegrityError:  # another process created the file first: retry once as a part
                    if attempt:
                        raise
                except (ChecksumMismatch, PayloadTooLarge, ValidationFailed):
                    self._forget(uploader, header)  # the parts do not make the file: start again
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _forget(self, uploader: Uploader, header: UploadHeader) -> None:
        with session_scope(self.ctx.sessions) as session:
            session.execute(delete(VirtualFile).where(VirtualFile.base_id == uploader.base_id,
                                                      VirtualFile.file_guid == header.file_guid,
                                                      VirtualFile.status == "Receiving"))

    def _add_part(self, session: Session, keyring: KeyRing, uploader: Uploader, header: UploadHeader,
                  content: bytes, cap: int) -> Receipt:
        now = utcnow()
        vf = self._existing(session, uploader, header, lock=True)
        if vf is None:
            vf = self._new_file(uploader, header, now)
            session.add(vf)
            session.flush()
        elif vf.status != "Receiving":
            return _receipt(vf, True)
        if session.get(FilePart, (vf.id, header.part_number)) is not None:
            return _receipt(vf, True)
        stored = session.scalar(select(func.coalesce(func.sum(FilePart.size), 0)).where(FilePart.file_id == vf.id))
        if stored + len(content) > _most_sent_bytes(cap, vf.part_count):
            raise PayloadTooLarge(f"the parts sent are larger than a {cap}-byte file can be")
        session.add(FilePart(file_id=vf.id, part_number=header.part_number, size=len(content),
                             content=keyring.encrypt(content, f"{vf.id}:{header.part_number}".encode()),
                             key_id=keyring.current_key_id, received_at=now))
        vf.parts_received += 1
        session.flush()
        if vf.parts_received < vf.part_count:
            return _receipt(vf, False)
        parts = session.scalars(select(FilePart).where(FilePart.file_id == vf.id)
                                .order_by(FilePart.part_number)).all()
        raws = [keyring.decrypt(p.content, f"{vf.id}:{p.part_number}".encode()) for p in parts]
        errors, data = self._check(uploader, header, raws, cap)
        session.execute(delete(FilePart).where(FilePart.file_id == vf.id))
        self._complete(session, uploader, vf, errors, b"".join(raws), data, now)
        return _receipt(vf, False)
