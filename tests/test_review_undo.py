"""Undo and correct a decision, through the admin service (zeep over HTTP) and the CLI.

A created, matched or rejected record is reopened or re-matched: the GUID link, the conflicts
the match opened, the fields it filled, the enrolment and carer links are reversed together,
a person created from the record goes when nothing else refers to it, and one review item per
base and SIMS GUID stays open.
"""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from zeep.exceptions import Fault

from b2b_soap.cli import main
from b2b_soap.db import (AuditEntry, CarerLink, Conflict, Enrolment, Person, PersonIdentifier,
                         session_scope)
from b2b_soap.security import UNMATCHED
from processing_support import add_person, address, contact, pupil
from server import running_server, zeep_client
from service_setup import PASSWORD, fault_code
from test_review_queue import ELSEWHERE, LAESTAB, cli, env, records, send  # noqa: F401 (env is a fixture)


def _state(env, person_ids: list[int]) -> dict:
    """What the LA holds about these persons: links, enrolments, carer links, open conflicts."""
    with session_scope(env.ctx.sessions) as session:
        return {"persons": sorted(session.scalars(select(Person.id).where(Person.id.in_(person_ids)))),
                "guid": sorted(session.scalars(select(PersonIdentifier.person_id).where(
                    PersonIdentifier.person_id.in_(person_ids)))),
                "enrolled": sorted(session.scalars(select(Enrolment.person_id).where(
                    Enrolment.person_id.in_(person_ids)))),
                "children": sorted(session.scalars(select(CarerLink.child_id).where(
                    CarerLink.child_id.in_(person_ids)))),
                "open": sorted(session.execute(select(Conflict.person_id, Conflict.field).where(
                    Conflict.person_id.in_(person_ids), Conflict.status == "open")).all())}


def text_cli(env, capsys, *args: str) -> tuple[int, dict[str, str]]:
    """``b2b-soap ARGS`` without --json: (exit code, the printed ``key  value`` lines as a dict)."""
    code = main(["--config", str(env.config_path), *args])
    lines = capsys.readouterr().out.splitlines()
    return code, {key: value[0] if value else "" for key, *value in (line.split(None, 1) for line in lines if line)}


def test_undo_a_create_then_rematch_reverses_everything_the_decisions_caused(env, capsys):
    kid = pupil("Aoife", "Nolan", date(2014, 1, 5), gender="F",
                contacts=[contact("Una", "Nolan"), contact("Pat", "Quigley", relationship="CAR")])
    morgan = add_person(env.ctx, forename="Morgan", surname="Ellis", dob=date(1980, 2, 2), gender="F", **ELSEWHERE)
    other = add_person(env.ctx, forename="Aoife", surname="Nolan-Reid", dob=date(2014, 1, 5), gender="F",
                       address="40 Park Avenue", town="Testbury", postcode="TB1 1AA")
    elder = add_person(env.ctx, forename="Aoife", surname="Nolan", dob=date(2014, 1, 5), gender="F",
                       address="7 Station Road", town="", postcode="EX9 9ZZ")
    with running_server(env.config_path) as srv:
        school = zeep_client(srv, "sims", PASSWORD)
        admin = zeep_client(srv, "officer", PASSWORD, admin=True)
        first = send(env, capsys, school, [kid])
        found = records(env, first)
        aoife, una, pat = found["Aoife"][0].id, found["Una"][0].id, found["Pat"][0].id
        created = admin.service.CreatePersonFromIncoming(incomingId=aoife).PersonId
        code, una_person, _ = cli(env, capsys, "review", "create", str(una))
        assert code == 0
        admin.service.MatchIncoming(incomingId=pat, personId=morgan)
        assert _state(env, [created])["children"] == [created, created]
        assert school.service.GetFileStatus(first).UnmatchedCount == 0

        code, plan, _ = cli(env, capsys, "review", "reopen", str(aoife), "--dry-run")
        assert code == 0 and plan["person_created"] and plan["person_removed"]
        assert plan["guid_link"] == kid.sims_guid and plan["enrolment"]["ncy"] == "5"
        assert sorted(link["carer_id"] for link in plan["carer_links"]) == sorted([una_person["person_id"], morgan])
        code, shown = text_cli(env, capsys, "review", "reopen", str(aoife), "--dry-run")
        assert code == 0
        assert (shown["incoming_id"], shown["kind"], shown["person_id"], shown["records"]) == (
            str(aoife), "pupil", f"#{created}", str(aoife))
        assert (shown["guid_link"], shown["enrolment"], shown["carer_links"], shown["conflicts"]) == (
            kid.sims_guid, "yes", "2", "")
        assert (shown["person_created"], shown["person_removed"]) == ("yes", "yes")
        assert _state(env, [created])["persons"] == [created]  # a dry run changes nothing

        undone = admin.service.ReopenIncoming(incomingId=aoife, preview=False)
        assert (undone.ReopenedId, undone.PersonRemoved, undone.EnrolmentRemoved, undone.CarerLinksRemoved) == (
            aoife, True, True, 2)
        assert _state(env, [created]) == {"persons": [], "guid": [], "enrolled": [], "children": [], "open": []}
        assert records(env, first)["Aoife"][0].status == "unmatched"
        assert [records(env, first)[n][0].status for n in ("Una", "Pat")] == ["matched", "matched"]
        assert school.service.GetFileStatus(first).UnmatchedCount == 1

        with pytest.raises(Fault) as refused:
            admin.service.RematchIncoming(incomingId=aoife, personId=other)
        assert fault_code(refused.value, admin) == "ValidationFailed" and "still unmatched" in refused.value.message

        admin.service.MatchIncoming(incomingId=aoife, personId=other)
        wrong = _state(env, [other])
        assert wrong["guid"] == [other] and wrong["enrolled"] == [other] and wrong["children"] == [other, other]
        assert {field for _, field in wrong["open"]} >= {"surname", "address", "postcode"}

        code, result, _ = cli(env, capsys, "review", "rematch", str(aoife), str(elder))
        assert code == 0 and result["person_id"] == elder
        assert _state(env, [other]) == {"persons": [other], "guid": [], "enrolled": [], "children": [], "open": []}
        right = _state(env, [elder])
        assert right["guid"] == [elder] and right["enrolled"] == [elder] and right["children"] == [elder, elder]
        with session_scope(env.ctx.sessions) as session:
            assert session.get(Person, elder).town == "Exampleton"  # filled by the right match
            assert {c.status for c in session.scalars(select(Conflict).where(Conflict.person_id == other))} == {"undone"}
            actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(aoife))))
        assert {"review.reopen", "review.manual"} <= actions

        code, _, _ = cli(env, capsys, "review", "reopen", str(aoife))
        assert code == 0
        with session_scope(env.ctx.sessions) as session:
            assert session.get(Person, elder).town == ""  # the filled town emptied again, the person kept
        assert _state(env, [elder])["guid"] == []

        again = records(env, send(env, capsys, school, [kid]))["Aoife"][0]
        assert again.decision != "guid"  # the link went with the undone match
        assert [r.status for r in records(env, first)["Aoife"]] == ["superseded"]


def test_undo_a_rejection_and_a_match_of_several_copies_keeps_one_open_item(env, capsys):
    kid = pupil("Nell", "Ward", date(2015, 8, 8), gender="F")
    person = add_person(env.ctx, forename="Eleanor", surname="Ward-Hill", dob=date(2015, 8, 9), gender="F",
                        **ELSEWHERE)
    with running_server(env.config_path) as srv:
        school = zeep_client(srv, "sims", PASSWORD)
        admin = zeep_client(srv, "officer", PASSWORD, admin=True)
        first = send(env, capsys, school, [kid])
        [nell] = records(env, first)["Nell"]
        assert cli(env, capsys, "review", "reject", str(nell.id), "--reason", "test pupil")[0] == 0
        second = send(env, capsys, school, [kid])
        assert records(env, second)["Nell"][0].status == "rejected"

        preview = admin.service.ReopenIncoming(incomingId=nell.id, preview=True)
        assert (preview.ReopenedId, preview.PersonId) == (records(env, second)["Nell"][0].id, None)
        admin.service.ReopenIncoming(incomingId=nell.id, preview=False)
        assert [r.status for f in (first, second) for r in records(env, f)["Nell"]] == ["superseded", "unmatched"]
        assert [school.service.GetFileStatus(f).UnmatchedCount for f in (first, second)] == [0, 1]

        admin.service.MatchIncoming(incomingId=preview.ReopenedId, personId=person)
        third = send(env, capsys, school, [kid])
        assert records(env, third)["Nell"][0].decision == "guid"
        code, shown = text_cli(env, capsys, "review", "reopen", str(preview.ReopenedId), "--dry-run")
        copies = [records(env, f)["Nell"][0].id for f in (second, third)]
        assert code == 0 and shown["records"] == " ".join(map(str, copies)), shown
        undone = admin.service.ReopenIncoming(incomingId=preview.ReopenedId, preview=False)
        assert undone.ReopenedId == records(env, third)["Nell"][0].id  # the newest copy waits
        statuses = [r.status for f in (first, second, third) for r in records(env, f)["Nell"]]
        assert statuses == ["superseded", "superseded", "unmatched"]
        assert [school.service.GetFileStatus(f).MatchedCount for f in (second, third)] == [0, 0]

        with pytest.raises(Fault) as refused:
            admin.service.ReopenIncoming(incomingId=undone.ReopenedId, preview=False)
        assert fault_code(refused.value, admin) == "ValidationFailed"
        env.add_la_user("looker", {UNMATCHED: "Read"})
        looker = zeep_client(srv, "looker", PASSWORD, admin=True)
        with pytest.raises(Fault) as denied:
            looker.service.ReopenIncoming(incomingId=nell.id, preview=True)
        assert fault_code(denied.value, looker) == "PermissionDenied"


def test_undo_an_automatic_match_puts_back_taken_values_and_a_carer_match_its_link(env, capsys):
    person = add_person(env.ctx, forename="Ivy", surname="Lowe", dob=date(2012, 7, 7), gender="F", upn="",
                        address="12 High Street", town="Southgate", postcode="EX1 2AB")
    adult = add_person(env.ctx, forename="Tess", surname="Marsh", dob=date(1984, 1, 1), gender="F", **ELSEWHERE)
    second_carer = add_person(env.ctx, forename="Rob", surname="Lowe", dob=date(1982, 3, 3), gender="M", **ELSEWHERE)
    kid = pupil("Ivy", "Lowe", date(2012, 7, 7), gender="F",
                contacts=[contact("Terri", "Marshall"), contact("Robert", "Lowe", gender="M", priority=2)])
    with running_server(env.config_path) as srv:
        school = zeep_client(srv, "sims", PASSWORD)
        admin = zeep_client(srv, "officer", PASSWORD, admin=True)
        file_id = send(env, capsys, school, [kid])
        ivy, terri, robert = (records(env, file_id)[name][0] for name in ("Ivy", "Terri", "Robert"))
        assert (ivy.status, ivy.decision, ivy.person_id) == ("matched", "auto", person)
        admin.service.MatchIncoming(incomingId=terri.id, personId=adult)
        admin.service.MatchIncoming(incomingId=robert.id, personId=second_carer)
        assert _state(env, [person])["children"] == [person, person]

        code, shown = text_cli(env, capsys, "review", "reopen", str(terri.id), "--dry-run")
        assert code == 0
        assert (shown["kind"], shown["person_id"], shown["enrolment"], shown["carer_links"]) == (
            "contact", f"#{adult}", "no", "1")
        undone = admin.service.ReopenIncoming(incomingId=terri.id, preview=False)
        assert (undone.CarerLinksRemoved, undone.PersonRemoved, undone.GuidLinkRemoved) == (1, False, terri.sims_guid)
        assert records(env, file_id)["Terri"][0].status == "unmatched"
        with session_scope(env.ctx.sessions) as session:  # the other carer's link stays
            assert list(session.scalars(select(CarerLink.carer_id).where(CarerLink.child_id == person))) == [
                second_carer]
        assert records(env, file_id)["Ivy"][0].status == "matched"  # the pupil's match stands

        [conflict] = admin.service.ListConflicts(baseLaestab=LAESTAB, personId=person, field=None, page=1,
                                                 pageSize=50).Items.ConflictItem
        assert (conflict.Field, conflict.LaValue, conflict.IncomingValue) == ("town", "Southgate", "Exampleton")
        assert cli(env, capsys, "conflicts", "resolve", str(conflict.ConflictId), "--take")[0] == 0
        code, shown = text_cli(env, capsys, "review", "reopen", str(ivy.id), "--dry-run")
        assert code == 0
        assert (shown["decision"], shown["person_id"], shown["conflicts"]) == (
            "auto", f"#{person}", f"{conflict.ConflictId}:town")
        assert "upn" in shown["filled"].split() and shown["person_created"] == "no"
        code, plan, _ = cli(env, capsys, "review", "reopen", str(ivy.id))
        assert code == 0 and [c["status"] for c in plan["conflicts"]] == ["taken"] and "upn" in plan["filled"]
        with session_scope(env.ctx.sessions) as session:
            held = session.get(Person, person)
            assert (held.town, held.upn) == ("Southgate", "")  # the taken value undone, the filled UPN emptied
            assert session.get(Conflict, conflict.ConflictId).status == "undone"
        page = admin.service.GetIncoming(incomingId=ivy.id)
        assert (page.Record.Status, page.Record.HasCandidates) == ("unmatched", True)
        assert [(c.Rank, c.PersonId) for c in page.Candidates.MatchCandidate] == [(1, person)]  # the matching's choice
        assert school.service.GetFileStatus(file_id).UnmatchedCount == 1
