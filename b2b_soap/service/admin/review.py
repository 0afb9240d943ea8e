"""Admin operations for LA review: Unmatched, Matched with Conflicts, files and base reports.

Thin wrappers over ``b2b_soap.review``; each domain function checks the LA user's
permission again and writes the audit log.
"""
from __future__ import annotations

from typing import Any

from spyne import Array, Boolean, ByteArray, Date, Double, Int, Long, Unicode

from ... import review
from ...security import ADMINISTRATION, CONFLICTS, REPORTS, UNMATCHED
from ..types import StringArray, UtcDateTime, _Model
from .base import AdminCall, AdminService, admin_operation

__all__ = ["ReviewAdmin", "SERVICE"]


class IncomingSummary(_Model):
    _type_info = [("IncomingId", Long), ("FileId", Unicode), ("Base", Unicode), ("Kind", Unicode),
                  ("Upn", Unicode), ("Forename", Unicode), ("Surname", Unicode), ("Dob", Date), ("Age", Int),
                  ("Gender", Unicode), ("Ncy", Unicode), ("Postcode", Unicode), ("Status", Unicode),
                  ("Decision", Unicode), ("PersonId", Long), ("Reason", Unicode), ("HasCandidates", Boolean),
                  ("ReceivedUtc", UtcDateTime)]


class MatchCandidate(_Model):
    _type_info = [("Rank", Int), ("PersonId", Long), ("Score", Double), ("Weight", Double), ("Upn", Unicode),
                  ("Forename", Unicode), ("Surname", Unicode), ("Dob", Date), ("Gender", Unicode),
                  ("Address", Unicode), ("Postcode", Unicode), ("Explanation", Unicode)]


class IncomingDetail(_Model):
    _type_info = [("Record", IncomingSummary), ("Candidates", Array(MatchCandidate)),
                  ("Contacts", Array(IncomingSummary)), ("Findings", StringArray)]


class UnmatchedPage(_Model):
    _type_info = [("Total", Int), ("Page", Int), ("PageSize", Int), ("Items", Array(IncomingSummary))]


class DecisionResult(_Model):
    _type_info = [("IncomingId", Long), ("PersonId", Long), ("Decision", Unicode), ("ConflictCount", Int)]


class UndoResult(_Model):
    """What undoing a decision changed (or, with ``Preview``, would change)."""
    _type_info = [("IncomingId", Long), ("ReopenedId", Long), ("PersonId", Long), ("GuidLinkRemoved", Unicode),
                  ("ConflictsUndone", Array(Long)), ("FieldsEmptied", StringArray), ("EnrolmentRemoved", Boolean),
                  ("CarerLinksRemoved", Int), ("PersonRemoved", Boolean), ("PersonKeptBecause", Unicode)]


class ConflictItem(_Model):
    _type_info = [("ConflictId", Long), ("PersonId", Long), ("Forename", Unicode), ("Surname", Unicode),
                  ("Field", Unicode), ("LaValue", Unicode), ("IncomingValue", Unicode), ("Base", Unicode),
                  ("Status", Unicode), ("CreatedUtc", UtcDateTime)]


class ConflictPage(_Model):
    _type_info = [("Total", Int), ("Page", Int), ("PageSize", Int), ("Items", Array(ConflictItem))]


class FieldValue(_Model):
    _type_info = [("Name", Unicode), ("Value", Unicode)]


class FileSummary(_Model):
    _type_info = [("FileId", Unicode), ("Base", Unicode), ("FileName", Unicode), ("Status", Unicode),
                  ("Source", Unicode), ("ReceivedUtc", UtcDateTime), ("ProcessedUtc", UtcDateTime),
                  ("PupilCount", Int), ("MatchedCount", Int), ("UnmatchedCount", Int), ("ConflictCount", Int),
                  ("Failure", Unicode)]


class BaseReport(_Model):
    _type_info = [("Base", Unicode), ("Name", Unicode), ("LastFile", FileSummary),
                  ("FilesByStatus", Array(FieldValue)), ("RejectedFiles", Array(FileSummary)),
                  ("WaitingUnmatched", Int), ("OpenConflicts", Int), ("FindingsByCode", Array(FieldValue)),
                  ("RecentFindings", StringArray)]


def _summary(item: dict[str, Any]) -> IncomingSummary:
    return IncomingSummary(IncomingId=item["id"], FileId=item["file_id"], Base=item.get("base"), Kind=item["kind"],
                           Upn=item["upn"], Forename=item["forename"], Surname=item["surname"], Dob=item["dob"],
                           Age=item.get("age"), Gender=item["gender"], Ncy=item.get("ncy"),
                           Postcode=item["postcode"], Status=item.get("status", "unmatched"),
                           Decision=item["decision"], PersonId=item.get("person_id"), Reason=item["reason"],
                           HasCandidates=item["has_candidates"], ReceivedUtc=item["received_at"])


def _candidate(c: dict[str, Any]) -> MatchCandidate:
    import json
    return MatchCandidate(Rank=c["rank"], PersonId=c["person_id"], Score=c["score"], Weight=c["weight"],
                          Upn=c["upn"], Forename=c["forename"], Surname=c["surname"], Dob=c["dob"],
                          Gender=c["gender"], Address=c["address"], Postcode=c["postcode"],
                          Explanation=json.dumps(c["explanation"]))


def _decision(result: dict[str, Any]) -> DecisionResult:
    return DecisionResult(IncomingId=result["incoming_id"], PersonId=result["person_id"],
                          Decision=result["decision"], ConflictCount=result["conflicts"])


def _undone(plan: dict[str, Any]) -> UndoResult:
    return UndoResult(IncomingId=plan["incoming_id"], ReopenedId=plan["reopened_id"], PersonId=plan["person_id"],
                      GuidLinkRemoved=plan["guid_link"], ConflictsUndone=[c["id"] for c in plan["conflicts"]],
                      FieldsEmptied=sorted(plan["filled"]), EnrolmentRemoved=plan["enrolment"] is not None,
                      CarerLinksRemoved=len(plan["carer_links"]), PersonRemoved=plan["person_removed"],
                      PersonKeptBecause=plan["person_kept_because"])


def _conflict(c: dict[str, Any]) -> ConflictItem:
    return ConflictItem(ConflictId=c["id"], PersonId=c["person_id"], Forename=c["forename"], Surname=c["surname"],
                        Field=c["field"], LaValue=c["la_value"], IncomingValue=c["incoming_value"], Base=c["base"],
                        Status=c["status"], CreatedUtc=c["created_at"])


def _file(f: dict[str, Any] | None) -> FileSummary | None:
    if f is None:
        return None
    return FileSummary(FileId=f["id"], Base=f["base"], FileName=f["file_name"], Status=f["status"],
                       Source=f["source"], ReceivedUtc=f["received_at"], ProcessedUtc=f["processed_at"],
                       PupilCount=f["pupils"], MatchedCount=f["matched"], UnmatchedCount=f["unmatched"],
                       ConflictCount=f["conflicts"], Failure=f["failure"])


def _pairs(values: dict) -> list[FieldValue]:
    return [FieldValue(Name=str(k), Value=str(v)) for k, v in sorted(values.items())]


class ReviewAdmin(AdminService):
    @admin_operation(UNMATCHED, Unicode, Unicode, Int, Int, Boolean, Int, Int, _returns=UnmatchedPage)
    def ListUnmatched(call: AdminCall, baseLaestab, ncy, minAge, maxAge, hasCandidates, page, pageSize):
        result = review.list_unmatched(call.session, call.user, call.settings, base=baseLaestab or None,
                                       ncy=ncy or None, min_age=minAge, max_age=maxAge,
                                       has_candidates=hasCandidates, page=page or 1, page_size=pageSize or 50)
        return UnmatchedPage(Total=result["total"], Page=result["page"], PageSize=result["page_size"],
                             Items=[_summary(i) for i in result["items"]])

    @admin_operation(UNMATCHED, Long, _returns=IncomingDetail)
    def GetIncoming(call: AdminCall, incomingId):
        detail = review.get_incoming(call.session, call.user, incomingId)
        return IncomingDetail(Record=_summary(detail), Candidates=[_candidate(c) for c in detail["candidates"]],
                              Contacts=[_summary(c) for c in detail["contacts"]],
                              Findings=[f"{f['code']}: {f['message']}" for f in detail["findings"]])

    @admin_operation(UNMATCHED, Long, Long, write=True, _returns=DecisionResult)
    def MatchIncoming(call: AdminCall, incomingId, personId):
        return _decision(review.match_incoming(call.session, call.user, incomingId, personId,
                                               settings=call.settings))

    @admin_operation(UNMATCHED, Long, write=True, _returns=DecisionResult)
    def CreatePersonFromIncoming(call: AdminCall, incomingId):
        return _decision(review.create_person_from_incoming(call.session, call.user, incomingId,
                                                            settings=call.settings))

    @admin_operation(UNMATCHED, Long, Unicode, write=True, _returns=Unicode)
    def RejectIncoming(call: AdminCall, incomingId, reason):
        return review.reject_incoming(call.session, call.user, incomingId, reason or "")["status"]

    @admin_operation(UNMATCHED, Long, Boolean, write=True, _returns=UndoResult)
    def ReopenIncoming(call: AdminCall, incomingId, preview):
        """Undo the decision on a matched, created or rejected record; with preview, only say what changes."""
        if preview:
            return _undone(review.undo_plan(call.session, call.user, incomingId))
        return _undone(review.reopen_incoming(call.session, call.user, incomingId))

    @admin_operation(UNMATCHED, Long, Long, write=True, _returns=DecisionResult)
    def RematchIncoming(call: AdminCall, incomingId, personId):
        return _decision(review.rematch_incoming(call.session, call.user, incomingId, personId,
                                                 settings=call.settings))

    @admin_operation(CONFLICTS, Unicode, Long, Unicode, Int, Int, _returns=ConflictPage)
    def ListConflicts(call: AdminCall, baseLaestab, personId, field, page, pageSize):
        result = review.list_conflicts(call.session, call.user, base=baseLaestab or None, person_id=personId,
                                       field=field or None, page=page or 1, page_size=pageSize or 50)
        return ConflictPage(Total=result["total"], Page=result["page"], PageSize=result["page_size"],
                            Items=[_conflict(c) for c in result["items"]])

    @admin_operation(CONFLICTS, Long, Unicode, write=True, _returns=Unicode)
    def ResolveConflict(call: AdminCall, conflictId, action):
        return review.resolve_conflict(call.session, call.user, conflictId, action or "")["status"]

    @admin_operation(CONFLICTS, Array(Long), Unicode, write=True, _returns=Int)
    def ResolveConflicts(call: AdminCall, conflictIds, action):
        return len(review.resolve_conflicts(call.session, call.user, list(conflictIds or []), action or ""))

    @admin_operation(CONFLICTS, Long, Array(FieldValue), write=True, _returns=StringArray)
    def UpdatePerson(call: AdminCall, personId, fields):
        changes = {f.Name: f.Value or "" for f in fields or []}
        return sorted(review.update_person(call.session, call.user, personId, changes)["changed"])

    @admin_operation(REPORTS, Unicode, _returns=BaseReport)
    def GetBaseReport(call: AdminCall, baseLaestab):
        r = review.base_report(call.session, call.user, baseLaestab or "")
        return BaseReport(Base=r["base"], Name=r["name"], LastFile=_file(r["last_file"]),
                          FilesByStatus=_pairs(r["files_by_status"]),
                          RejectedFiles=[_file(f) for f in r["rejected_files"]],
                          WaitingUnmatched=r["waiting_unmatched"], OpenConflicts=r["open_conflicts"],
                          FindingsByCode=_pairs(r["findings_by_code"]),
                          RecentFindings=[f"{f['code']}: {f['message']}" for f in r["recent_findings"]])

    @admin_operation(ADMINISTRATION, Unicode, write=True, _returns=Unicode)
    def RetryFile(call: AdminCall, fileId):
        return review.retry_file(call.session, call.user, fileId or "")["status"]

    # Not write=True: the store writes in its own transactions (and audits the import), and on
    # SQLite this operation's read transaction could not write after them.
    @admin_operation(ADMINISTRATION, Unicode, Unicode, ByteArray, _returns=FileSummary)
    def ImportFile(call: AdminCall, baseLaestab, fileName, content):
        result = review.import_file(call.ctx, call.user, b"".join(content or []), baseLaestab or "",
                                    fileName or "import.xml")
        return FileSummary(FileId=result["file_id"], Base=baseLaestab, FileName=fileName, Status=result["status"],
                           Source="import", Failure="; ".join(e["message"] for e in result["errors"]))


SERVICE = ReviewAdmin
