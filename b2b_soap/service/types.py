"""The contract's data types, elements in wire order (DESIGN "The SOAP contract").

Every complex type lists its fields in the order the WSDL declares them: .NET proxies
(DataContractSerializer with ``Order``) silently drop members that arrive out of order.
"""
from __future__ import annotations

from spyne import Array, Fault, Boolean, ByteArray, ComplexModel, Date, DateTime, Int, Long, Unicode

__all__ = ["TNS", "UtcDateTime", "B2BFault", "ServerInfo", "FileHeader", "FileReceipt", "FileError",
           "FileStatus", "ScheduledTask", "DownloadInfo", "DownloadedFile", "StringArray",
           "ArrayOfScheduledTask", "ArrayOfDownloadInfo", "ArrayOfFileError"]

TNS = "http://schemas.b2b-soap.org/student/2026/01"

# Naive UTC in, "...Z" out: spyne writes naive datetimes without a zone otherwise.
UtcDateTime = DateTime(timezone=False, out_format="%Y-%m-%dT%H:%M:%SZ")


class _Model(ComplexModel):
    __namespace__ = TNS


StringArray = Array(Unicode, type_name="ArrayOfstring")


class B2BFault(Fault):
    """The typed fault declared on every operation; the detail is this element itself.

    ``Code`` is one of ``b2b_soap.errors.FAULT_CODES``. spyne does not serialise a Fault's own
    fields into ``<detail>``, so ``service.faults`` builds that element.
    """

    __namespace__ = TNS
    _type_info = [("Code", Unicode), ("Message", Unicode)]


class ServerInfo(_Model):
    ProductVersion = Unicode
    ContractVersion = Unicode
    LaNumber = Unicode
    LaName = Unicode
    MaxFileBytes = Long
    MaxPartBytes = Long
    MaxAttainmentFileBytes = Long
    DataTypes = StringArray
    ServerTimeUtc = UtcDateTime


class FileHeader(_Model):
    FileGuid = Unicode
    TaskId = Long
    DataType = Unicode
    FileName = Unicode
    TotalBytes = Long
    Sha256 = Unicode
    Compression = Unicode
    PartNumber = Int
    PartCount = Int
    CreatedUtc = UtcDateTime


class FileReceipt(_Model):
    FileId = Unicode
    Status = Unicode
    IsDuplicate = Boolean
    PartsReceived = Int
    ReceivedUtc = UtcDateTime


class FileError(_Model):
    Line = Int
    Column = Int
    Message = Unicode


ArrayOfFileError = Array(FileError, type_name="ArrayOfFileError")


class FileStatus(_Model):
    FileId = Unicode
    FileName = Unicode
    DataType = Unicode
    Status = Unicode
    ReceivedUtc = UtcDateTime
    ProcessedUtc = UtcDateTime
    Errors = ArrayOfFileError
    PupilCount = Int
    MatchedCount = Int
    UnmatchedCount = Int
    ConflictCount = Int


class ScheduledTask(_Model):
    TaskId = Long
    Name = Unicode
    DataType = Unicode
    Direction = Unicode
    Enabled = Boolean
    Owner = Unicode
    Frequency = Unicode
    StartDate = Date
    TimeOfDay = Unicode
    DaysOfWeek = StringArray
    DayOfMonth = Int
    NcYears = StringArray
    IncludeLeavers = Boolean
    AspectHierarchyId = Long
    Version = Int
    ModifiedUtc = UtcDateTime


ArrayOfScheduledTask = Array(ScheduledTask, type_name="ArrayOfScheduledTask")


class DownloadInfo(_Model):
    FileId = Unicode
    FileName = Unicode
    DataType = Unicode
    TotalBytes = Long
    Sha256 = Unicode
    QueuedUtc = UtcDateTime


ArrayOfDownloadInfo = Array(DownloadInfo, type_name="ArrayOfDownloadInfo")


class DownloadedFile(_Model):
    Info = DownloadInfo
    Content = ByteArray
