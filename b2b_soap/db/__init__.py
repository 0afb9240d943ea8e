"""Database models, engine and sessions."""
from .accounts import PERSON_ERASED, AuditEntry, Base, Group, GroupMember, GroupPermission, Licence, SystemDefault, User, WebSession
from .attainment import (Aspect, AspectHierarchy, AttainmentImport, AttainmentResult, HierarchyAspect,
                         SuspenseItem)
from .base import Model, utcnow
from .bulk import bulk_insert, bulk_upsert, copy_rows, in_lists, one_of, reserve_ids
from .engine import is_sqlite, make_engine, make_sessionmaker, normalise_url, session_scope, upgrade
from .files import Download, FilePart, QueueEntry, VirtualFile
from .incoming import CacheEntry, Conflict, Finding, IncomingRecord, MatchCandidate, MatchModelRow
from .population import CarerLink, Enrolment, Person, PersonIdentifier
from .scheduling import Alert, JobRun, MaintenanceJob, ScheduledTask

__all__ = [
    "Model", "utcnow", "make_engine", "make_sessionmaker", "session_scope", "upgrade", "normalise_url",
    "is_sqlite", "bulk_insert", "bulk_upsert", "copy_rows", "in_lists", "one_of", "reserve_ids",
    "Base", "User", "Group", "GroupMember", "GroupPermission", "SystemDefault", "Licence", "AuditEntry", "PERSON_ERASED",
    "WebSession", "VirtualFile", "FilePart", "QueueEntry", "Download", "Person", "PersonIdentifier",
    "CarerLink", "Enrolment", "IncomingRecord", "MatchCandidate", "Finding", "Conflict", "CacheEntry",
    "MatchModelRow", "ScheduledTask", "JobRun", "MaintenanceJob", "Alert", "AspectHierarchy", "Aspect", "HierarchyAspect",
    "AttainmentResult", "AttainmentImport", "SuspenseItem",
]
