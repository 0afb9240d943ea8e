"""The school service ``IB2BStudentService``: what SIMS calls (DESIGN "The SOAP contract").

Operations only translate between the contract's types and the domain functions
(``files``, ``downloads``, ``tasks``); the WSGI front has already authenticated
the caller and checked licence, base flag and permissions.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

from spyne import ByteArray, Long, ServiceBase, Unicode
from sqlalchemy.orm import Session

from .. import downloads, tasks
from ..db import Base, ScheduledTask as TaskRow, User, VirtualFile, session_scope, utcnow
from ..errors import NotFound, ValidationFailed
from ..files import DATA_TYPES, Receipt, UploadHeader, Uploader
from .runtime import Principal, principal, runtime
from .types import (ArrayOfDownloadInfo, ArrayOfScheduledTask, DownloadedFile, DownloadInfo, FileError,
                    FileHeader, FileReceipt, FileStatus, ScheduledTask, ServerInfo)
from .wcf import operation

__all__ = ["B2BStudentService", "wsdl_task_fields", "PORT_TYPE", "PRODUCT_VERSION", "CONTRACT_VERSION"]

PORT_TYPE = "IB2BStudentService"
PRODUCT_VERSION = "0.1.0"
CONTRACT_VERSION = "2026.01"


@contextmanager
def _school(ctx) -> Iterator[tuple[Session, Principal]]:
    with session_scope(runtime(ctx).ctx.sessions) as session:
        yield session, principal(ctx)


def _receipt(receipt: Receipt) -> FileReceipt:
    return FileReceipt(FileId=receipt.file_id, Status=receipt.status, IsDuplicate=receipt.is_duplicate,
                       PartsReceived=receipt.parts_received, ReceivedUtc=receipt.received_utc)


def _own_file(session: Session, who: Principal, file_id: str) -> VirtualFile:
    vf = session.get(VirtualFile, (file_id or "").strip().lower()) if file_id else None
    if vf is None or vf.base_id != who.base_id or vf.deleted_at is not None:
        raise NotFound(f"no file {file_id!r} for this base")
    return vf


def _task_out(task: TaskRow) -> ScheduledTask:
    data = tasks.task_to_dict(task)
    return ScheduledTask(TaskId=task.id, Name=task.name, DataType=task.data_type, Direction=task.direction,
                         Enabled=task.enabled, Owner=task.owner, Frequency=task.frequency,
                         StartDate=task.start_date, TimeOfDay=task.time_of_day or None,
                         DaysOfWeek=data["days_of_week"], DayOfMonth=task.day_of_month, NcYears=data["nc_years"],
                         IncludeLeavers=task.include_leavers, AspectHierarchyId=task.aspect_hierarchy_id,
                         Version=task.version, ModifiedUtc=task.modified_at)


_TASK_FIELDS = {"task_id": "TaskId", "name": "Name", "data_type": "DataType", "direction": "Direction",
                "enabled": "Enabled", "frequency": "Frequency", "start_date": "StartDate", "time_of_day": "TimeOfDay",
                "days_of_week": "DaysOfWeek", "day_of_month": "DayOfMonth", "nc_years": "NcYears",
                "include_leavers": "IncludeLeavers", "aspect_hierarchy_id": "AspectHierarchyId", "version": "Version"}
_STORED_NAME = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def _task_in(task: ScheduledTask | None) -> dict:
    if task is None:
        raise ValidationFailed("task is required")
    values = {key: getattr(task, name) for key, name in _TASK_FIELDS.items()}
    values["days_of_week"], values["nc_years"] = list(task.DaysOfWeek or []), list(task.NcYears or [])
    return {key: value for key, value in values.items() if value is not None}  # nil: the default


@contextmanager
def wsdl_task_fields() -> Iterator[None]:
    """Task validation messages name the contract's fields (``TimeOfDay``), not the stored ones."""
    try:
        yield
    except ValidationFailed as exc:
        raise ValidationFailed(_STORED_NAME.sub(lambda m: _TASK_FIELDS.get(m[0], m[0]), exc.message)) from None


def _download_info(row) -> DownloadInfo:
    return DownloadInfo(FileId=row.id, FileName=row.file_name, DataType=row.data_type, TotalBytes=row.total_bytes,
                        Sha256=row.sha256, QueuedUtc=row.queued_at)


def _actor_and_base(session: Session, who: Principal) -> tuple[User, Base]:
    return session.get(User, who.user_id), session.get(Base, who.base_id)


class B2BStudentService(ServiceBase):
    __service_name__ = "B2BStudentService"
    __port_types__ = [PORT_TYPE]

    @operation(PORT_TYPE, _returns=ServerInfo)
    def GetServerInfo(ctx):
        settings = runtime(ctx).ctx.settings
        return ServerInfo(ProductVersion=PRODUCT_VERSION, ContractVersion=CONTRACT_VERSION,
                          LaNumber=settings.la.number, LaName=settings.la.name,
                          MaxFileBytes=settings.storage.max_file_bytes,
                          MaxPartBytes=settings.storage.max_part_bytes,
                          MaxAttainmentFileBytes=settings.storage.max_attainment_file_bytes,
                          DataTypes=list(DATA_TYPES), ServerTimeUtc=utcnow())

    @operation(PORT_TYPE, _returns=ArrayOfScheduledTask)
    def GetScheduledTasks(ctx):
        with _school(ctx) as (session, who):
            return [_task_out(t) for t in tasks.list_base_tasks(session, who.base_id)]

    @operation(PORT_TYPE, ScheduledTask, _returns=ScheduledTask)
    def SaveScheduledTask(ctx, task):
        with _school(ctx) as (session, who):
            actor, base = _actor_and_base(session, who)
            with wsdl_task_fields():
                saved = tasks.save_school_task(session, runtime(ctx).ctx.settings, actor, base, _task_in(task))
            session.flush()
            return _task_out(saved)

    @operation(PORT_TYPE, Long, _in_arg_names={"task_id": "taskId"})
    def DeleteScheduledTask(ctx, task_id):
        with _school(ctx) as (session, who):
            actor, base = _actor_and_base(session, who)
            tasks.delete_school_task(session, actor, base, task_id or 0, runtime(ctx).ctx.settings)

    @operation(PORT_TYPE, FileHeader, ByteArray, _returns=FileReceipt)
    def UploadFile(ctx, header, content):
        if header is None:
            raise ValidationFailed("header is required")
        who = principal(ctx)
        upload = UploadHeader(file_guid=header.FileGuid or "", data_type=header.DataType or "",
                              file_name=header.FileName or "", total_bytes=header.TotalBytes or 0,
                              sha256=header.Sha256 or "", compression=header.Compression or "None",
                              part_number=header.PartNumber or 1, part_count=header.PartCount or 1,
                              task_id=header.TaskId, created_utc=header.CreatedUtc)
        receipt = runtime(ctx).store.upload(Uploader(who.user_id, who.base_id, who.laestab), upload,
                                            b"".join(content or []))
        return _receipt(receipt)

    @operation(PORT_TYPE, Unicode, _returns=FileStatus, _in_arg_names={"file_id": "fileId"})
    def GetFileStatus(ctx, file_id):
        with _school(ctx) as (session, who):
            vf = _own_file(session, who, file_id)
            return FileStatus(FileId=vf.id, FileName=vf.file_name, DataType=vf.data_type, Status=vf.status,
                              ReceivedUtc=vf.received_at, ProcessedUtc=vf.processed_at,
                              Errors=[FileError(Line=e.get("line"), Column=e.get("column"), Message=e.get("message"))
                                      for e in (vf.errors or [])],
                              PupilCount=vf.pupil_count, MatchedCount=vf.matched_count,
                              UnmatchedCount=vf.unmatched_count, ConflictCount=vf.conflict_count)

    @operation(PORT_TYPE, _returns=ArrayOfDownloadInfo)
    def GetPendingDownloads(ctx):
        with _school(ctx) as (session, who):
            return [_download_info(d) for d in downloads.pending_downloads(session, who.base_id)]

    @operation(PORT_TYPE, Unicode, _returns=DownloadedFile, _in_arg_names={"file_id": "fileId"})
    def DownloadFile(ctx, file_id):
        with _school(ctx) as (session, who):
            row, content = downloads.fetch_download(session, runtime(ctx).ctx.keyring, who.base_id, file_id)
            return DownloadedFile(Info=_download_info(row), Content=[content])

    @operation(PORT_TYPE, Unicode, _in_arg_names={"file_id": "fileId"})
    def AcknowledgeDownload(ctx, file_id):
        with _school(ctx) as (session, who):
            downloads.acknowledge_download(session, who.base_id, file_id, who.username)
