"""Admin operations for B2B Attainment: aspects and hierarchies, files in the import
directory, suspense, and results out.

ListAspects, ListHierarchies, SaveAspect, SaveHierarchy, LoadHierarchies (Administration);
ListAttainmentFiles, DeleteAttainmentFile (Administration); ListSuspense, ResolveSuspense
(Incoming Students: Unmatched, since resolving is matching pupils); ExportAttainmentResults
(Reports). The import job itself runs with RunJob(``attainment_import``).
"""
from __future__ import annotations

import io

from spyne import Array, Boolean, Date, Double, Int, Long, Unicode

from ...attainment import hierarchies, results, suspense
from ...attainment.directories import waiting_files
from ...licensing import ATTAINMENT_FEATURES, require_features
from ...security import ADMINISTRATION, REPORTS, UNMATCHED
from ..types import StringArray, UtcDateTime, _Model
from .base import AdminCall, AdminService, admin_operation

__all__ = ["AttainmentAdmin", "SERVICE", "AspectInfo", "HierarchyInfo", "AttainmentFileInfo", "SuspenseInfo",
           "SuspenseResolution"]


class AspectInfo(_Model):
    Code = Unicode
    Name = Unicode
    ResultType = Unicode  # grade | mark | text
    Grades = StringArray
    MarkMin = Double
    MarkMax = Double
    NcYears = StringArray


class HierarchyInfo(_Model):
    HierarchyId = Long
    Name = Unicode
    Description = Unicode
    AspectCodes = StringArray


class AttainmentFileInfo(_Model):
    FileId = Unicode
    FileName = Unicode
    Status = Unicode  # waiting | failed | suspense | unknown
    WrittenUtc = UtcDateTime
    DaysWaiting = Int
    Error = Unicode


class SuspenseInfo(_Model):
    ItemId = Long
    FileId = Unicode
    SimsGuid = Unicode
    UPN = Unicode
    Forename = Unicode
    Surname = Unicode
    DOB = Date
    NcYear = Unicode
    AspectCode = Unicode
    Value = Unicode
    CollectionDate = Date
    Reason = Unicode
    Status = Unicode


class SuspenseResolution(_Model):
    Resolved = Int
    Discarded = Int
    StillOpen = Int
    FileDone = Boolean


ArrayOfAspectInfo = Array(AspectInfo, type_name="ArrayOfAspectInfo")
ArrayOfHierarchyInfo = Array(HierarchyInfo, type_name="ArrayOfHierarchyInfo")
ArrayOfAttainmentFileInfo = Array(AttainmentFileInfo, type_name="ArrayOfAttainmentFileInfo")
ArrayOfSuspenseInfo = Array(SuspenseInfo, type_name="ArrayOfSuspenseInfo")


def _aspect_out(aspect) -> AspectInfo:
    data = hierarchies.aspect_to_dict(aspect)
    return AspectInfo(Code=data["code"], Name=data["name"], ResultType=data["type"], Grades=data["grades"],
                      MarkMin=data["min"], MarkMax=data["max"], NcYears=data["ncys"])


def _hierarchy_out(call: AdminCall, hierarchy) -> HierarchyInfo:
    data = hierarchies.hierarchy_to_dict(call.session, hierarchy)
    return HierarchyInfo(HierarchyId=data["id"], Name=data["name"], Description=data["description"],
                         AspectCodes=data["aspects"])


def _suspense_out(item) -> SuspenseInfo:
    return SuspenseInfo(ItemId=item.id, FileId=item.file_id, SimsGuid=item.sims_guid, UPN=item.upn,
                        Forename=item.forename, Surname=item.surname, DOB=item.dob, NcYear=item.ncy,
                        AspectCode=item.aspect_code, Value=item.value, CollectionDate=item.collection_date,
                        Reason=item.reason, Status=item.status)


class AttainmentAdmin(AdminService):
    @admin_operation(ADMINISTRATION, _returns=ArrayOfAspectInfo)
    def ListAspects(call: AdminCall):
        return [_aspect_out(a) for a in hierarchies.list_aspects(call.session)]

    @admin_operation(ADMINISTRATION, AspectInfo, write=True, _returns=AspectInfo)
    def SaveAspect(call: AdminCall, aspect):
        """Add a new aspect (codes are unique; change an existing one with LoadHierarchies)."""
        spec = hierarchies.AspectSpec(code=aspect.Code or "", name=aspect.Name or "",
                                      result_type=aspect.ResultType or "", grades=list(aspect.Grades or []),
                                      mark_min=aspect.MarkMin, mark_max=aspect.MarkMax,
                                      ncys=list(aspect.NcYears or []))
        return _aspect_out(hierarchies.add_aspect(call.session, call.actor, spec))

    @admin_operation(ADMINISTRATION, Unicode, _returns=ArrayOfHierarchyInfo)
    def ListHierarchies(call: AdminCall, namePrefix):
        """Every hierarchy, or those whose name starts with ``namePrefix`` (any case)."""
        found = (hierarchies.search_hierarchies(call.session, namePrefix) if namePrefix
                 else hierarchies.list_hierarchies(call.session))
        return [_hierarchy_out(call, h) for h in found]

    @admin_operation(ADMINISTRATION, HierarchyInfo, write=True, _returns=HierarchyInfo)
    def SaveHierarchy(call: AdminCall, hierarchy):
        """Add a new hierarchy of existing aspects, in the order given."""
        spec = hierarchies.HierarchySpec(name=hierarchy.Name or "", description=hierarchy.Description or "",
                                         aspects=list(hierarchy.AspectCodes or []))
        return _hierarchy_out(call, hierarchies.add_hierarchy(call.session, call.actor, spec))

    @admin_operation(ADMINISTRATION, Unicode, Unicode, write=True, _returns=StringArray)
    def LoadHierarchies(call: AdminCall, content, format):
        """Add or update aspects and hierarchies from a JSON or CSV file's text; all or nothing."""
        counts = hierarchies.load_hierarchies(call.session, call.actor, content or "",
                                              (format or "json").lower())
        return [f"{key}={value}" for key, value in counts.items()]

    @admin_operation(ADMINISTRATION, Int, _returns=ArrayOfAttainmentFileInfo)
    def ListAttainmentFiles(call: AdminCall, olderThanDays):
        """Files still in the import directory (waiting, failed, in suspense), oldest first."""
        return [AttainmentFileInfo(FileId=f["file_id"] or None, FileName=f["file_name"], Status=f["status"],
                                   WrittenUtc=f["written_at"], DaysWaiting=f["days_waiting"],
                                   Error=f["error"] or None)
                for f in waiting_files(call.session, call.settings, olderThanDays)]

    @admin_operation(ADMINISTRATION, Unicode, write=True)
    def DeleteAttainmentFile(call: AdminCall, fileId):
        suspense.delete_import_file(call.session, call.settings, call.actor, fileId or "")

    @admin_operation(UNMATCHED, Unicode, Unicode, Int, _returns=ArrayOfSuspenseInfo)
    def ListSuspense(call: AdminCall, fileId, status, limit):
        """Suspense items (``status`` open by default; ``all`` for every status)."""
        wanted = None if status == "all" else (status or "open")
        return [_suspense_out(i) for i in suspense.list_suspense(call.session, fileId or None, wanted,
                                                                 min(limit or 500, 5000))]

    @admin_operation(UNMATCHED, Long, Long, Unicode, Boolean, write=True, _returns=SuspenseResolution)
    def ResolveSuspense(call: AdminCall, itemId, personId, aspectCode, discard):
        """Give exactly one of ``personId`` (match the pupil), ``aspectCode`` (map) or ``discard``."""
        done = suspense.resolve_suspense(call.session, call.settings, call.actor, itemId or 0,
                                         person_id=personId or None, aspect_code=aspectCode or None,
                                         discard=bool(discard))
        return SuspenseResolution(Resolved=done["resolved"], Discarded=done["discarded"],
                                  StillOpen=done["still_open"], FileDone=done["file_done"])

    @admin_operation(REPORTS, Unicode, Unicode, Unicode, Unicode, _returns=Unicode)
    def ExportAttainmentResults(call: AdminCall, laestab, hierarchy, aspectCode, ncYear):
        """Imported results as CSV text (same columns as ``b2b-soap attainment results --csv``)."""
        require_features(call.session, call.settings, *ATTAINMENT_FEATURES)
        rows = results.query_results(call.session, base=laestab or None, hierarchy=hierarchy or None,
                                     aspect=aspectCode or None, ncy=ncYear or None)
        out = io.StringIO()
        results.write_results_csv(rows, out)
        return out.getvalue()


SERVICE = AttainmentAdmin
