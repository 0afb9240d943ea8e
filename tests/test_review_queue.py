"""The review queue through the product's doors: a school's nightly files over SOAP, processing
by ``b2b-soap process``, decisions through the admin service, the CLI and the web pages.

One open review item per (base, SIMS GUID): each file supersedes the previous file's items,
a decision on any copy settles them all, and a decided pupil is not queued again. A contact
is matched by hand only to a person aged CARER_MIN or over. Clear Conflicts compares as
conflict detection does, and every conflict list shows the LA's current value.
"""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from zeep.exceptions import Fault

from b2b_soap.cli import main
from b2b_soap.db import AuditEntry, CarerLink, IncomingRecord, session_scope
from b2b_soap.security import ADMINISTRATION, CONFLICTS, UNMATCHED
from b2b_soap.web import make_web_app
from processing_support import add_bystander, add_person, address, contact, pupil, transfer_bytes
from server import running_server, zeep_client
from service_setup import PASSWORD, ServiceEnv, fault_code, file_header
from test_web_support import post_form, sign_in

LAESTAB, OTHER = "9994001", "9994002"
ELSEWHERE = dict(address="40 Park Avenue", town="Testbury", postcode="TB1 1AA")


@pytest.fixture
def env(tmp_path, database_url):
    environment = ServiceEnv.create(tmp_path, database_url)
    environment.add_school(LAESTAB, "sims")
    environment.add_la_user("officer", {UNMATCHED: "Read-Write", CONFLICTS: "Read-Write",
                                        ADMINISTRATION: "Read-Write"})
    add_bystander(environment.ctx)
    yield environment
    environment.close()


def cli(env: ServiceEnv, capsys, *args: str) -> tuple[int, object, str]:
    """``b2b-soap --json ARGS`` in-process; (exit code, parsed output or None, stderr)."""
    code = main(["--config", str(env.config_path), "--json", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def send(env: ServiceEnv, capsys, school, pupils, laestab: str = LAESTAB) -> str:
    """One nightly file: UploadFile over SOAP, then ``b2b-soap process``; returns the file id."""
    data = transfer_bytes(pupils, laestab)
    receipt = school.service.UploadFile(header=file_header(school, data), content=data)
    code, results, _ = cli(env, capsys, "process")
    assert code == 0 and [r["status"] for r in results] == ["Processed"], results
    return receipt.FileId


def records(env: ServiceEnv, file_id: str) -> dict[str, list[IncomingRecord]]:
    """A file's records by forename (a carer comes once per child)."""
    found: dict[str, list[IncomingRecord]] = {}
    with session_scope(env.ctx.sessions) as session:
        for record in session.scalars(select(IncomingRecord).where(IncomingRecord.file_id == file_id)
                                      .order_by(IncomingRecord.seq)):
            session.expunge(record)
            found.setdefault(record.forename, []).append(record)
    return found


def unmatched(admin) -> list[tuple[str, str]]:
    page = admin.service.ListUnmatched(baseLaestab=LAESTAB, ncy=None, minAge=None, maxAge=None,
                                       hasCandidates=None, page=1, pageSize=100)
    return sorted((item.Forename, item.FileId) for item in (page.Items.IncomingSummary if page.Items else []))


def test_nightly_files_keep_one_open_item_per_pupil_and_decisions_settle_every_copy(env, capsys):
    pat = contact("Pat", "Quigley", home=address("9", "Mill Lane", "Demoby", "DM2 4RS"))
    pupils = [pupil("Aoife", "Nolan", date(2014, 1, 5), gender="F", contacts=[contact("Una", "Nolan")]),
              pupil("Bram", "Okafor", date(2013, 9, 9)),
              pupil("Cora", "Quigley", date(2013, 3, 3), gender="F", contacts=[pat]),
              pupil("Dev", "Quigley", date(2015, 6, 6), contacts=[pat])]
    coralie = add_person(env.ctx, forename="Coralie", surname="Reid", dob=date(2013, 3, 4), gender="F", **ELSEWHERE)
    morgan = add_person(env.ctx, forename="Morgan", surname="Ellis", dob=date(1980, 2, 2), gender="F", **ELSEWHERE)
    with running_server(env.config_path) as srv:
        school = zeep_client(srv, "sims", PASSWORD)
        admin = zeep_client(srv, "officer", PASSWORD, admin=True)
        files = [send(env, capsys, school, pupils) for _ in range(4)]

        assert unmatched(admin) == [(name, files[3]) for name in ("Aoife", "Bram", "Cora", "Dev")]
        _, carers, _ = cli(env, capsys, "review", "unmatched", "--contacts", "--base", LAESTAB)
        assert sorted(c["forename"] for c in carers) == ["Pat", "Una"]
        assert [school.service.GetFileStatus(f).UnmatchedCount for f in files] == [0, 0, 0, 4]
        first, last = records(env, files[0]), records(env, files[3])
        assert {r.status for r in first["Aoife"]} == {"superseded"}
        assert [r.status for r in last["Pat"]] == ["superseded", "unmatched"]  # once per child, one open
        with session_scope(env.ctx.sessions) as session:
            assert session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "review.supersede")) == 3 * 6

        admin.service.CreatePersonFromIncoming(incomingId=last["Aoife"][0].id)
        assert admin.service.RejectIncoming(incomingId=last["Bram"][0].id, reason="moved out of the LA") == "rejected"
        admin.service.MatchIncoming(incomingId=first["Cora"][0].id, personId=coralie)  # an older copy
        code, created, _ = cli(env, capsys, "review", "create", str(last["Dev"][0].id))
        assert code == 0 and created["decision"] == "new"
        admin.service.MatchIncoming(incomingId=last["Pat"][1].id, personId=morgan)

        assert unmatched(admin) == []
        last_status = school.service.GetFileStatus(files[3])
        assert (last_status.MatchedCount, last_status.UnmatchedCount) == (3, 0)
        settled = records(env, files[3])
        assert (settled["Cora"][0].status, settled["Cora"][0].person_id) == ("matched", coralie)
        assert [(r.status, r.person_id) for r in settled["Pat"]] == [("matched", morgan)] * 2
        _, carers, _ = cli(env, capsys, "review", "unmatched", "--contacts", "--base", LAESTAB)
        assert [(c["forename"], c["id"]) for c in carers] == [("Una", settled["Una"][0].id)]
        with session_scope(env.ctx.sessions) as session:
            children = set(session.scalars(select(CarerLink.child_id).where(CarerLink.carer_id == morgan)))
        assert children == {coralie, created["person_id"]}

        fifth = send(env, capsys, school, pupils)
        assert unmatched(admin) == []
        again = records(env, fifth)
        assert (again["Bram"][0].status, again["Bram"][0].reason) == ("rejected", "moved out of the LA")
        assert [(again[n][0].decision, again[n][0].person_id) for n in ("Cora", "Dev")] == [
            ("guid", coralie), ("guid", created["person_id"])]
        assert again["Aoife"][0].decision == "guid"
        assert [r.status for r in again["Una"]] == ["unmatched"]
        status = school.service.GetFileStatus(fifth)
        assert (status.MatchedCount, status.UnmatchedCount) == (3, 0)
        _, carers, _ = cli(env, capsys, "review", "unmatched", "--contacts", "--base", LAESTAB)
        assert [(c["forename"], c["id"]) for c in carers] == [("Una", again["Una"][0].id)]


def test_a_pupil_sent_by_two_bases_waits_at_each_and_a_rejection_at_one_stays_there(env, capsys):
    """The same SIMS GUIDs from another base: its file neither supersedes this base's open item
    nor inherits this base's rejection."""
    env.add_school(OTHER, "sims2")
    orla = pupil("Orla", "Brennan", date(2014, 10, 10), gender="F")
    ned = pupil("Ned", "Brennan", date(2012, 2, 2))
    with running_server(env.config_path) as srv:
        here = send(env, capsys, zeep_client(srv, "sims", PASSWORD), [orla, ned])
        code, _, _ = cli(env, capsys, "review", "reject", str(records(env, here)["Ned"][0].id),
                         "--reason", "left the LA")
        assert code == 0
        there = send(env, capsys, zeep_client(srv, "sims2", PASSWORD), [orla, ned], OTHER)
    sent_here = records(env, here)
    assert [r.status for r in sent_here["Orla"]] == ["unmatched"]
    assert [(r.status, r.reason) for r in sent_here["Ned"]] == [("rejected", "left the LA")]
    assert [r.status for n in ("Orla", "Ned") for r in records(env, there)[n]] == ["unmatched", "unmatched"]
    waiting = {laestab: sorted((item["forename"], item["id"]) for item in cli(
        env, capsys, "review", "unmatched", "--base", laestab)[1]) for laestab in (LAESTAB, OTHER)}
    assert waiting == {LAESTAB: [("Orla", records(env, here)["Orla"][0].id)],
                       OTHER: sorted((n, records(env, there)[n][0].id) for n in ("Ned", "Orla"))}


def test_guid_link_of_a_decision_applies_with_guidmatch_off(env, capsys):
    kid = pupil("Rowan", "Ashby", date(2014, 4, 4))
    with running_server(env.config_path) as srv:
        school = zeep_client(srv, "sims", PASSWORD)
        first = send(env, capsys, school, [kid])
        cli(env, capsys, "review", "create", str(records(env, first)["Rowan"][0].id))
        assert cli(env, capsys, "defaults", "set", "GUIDMATCH", "F")[0] == 0
        renamed = pupil("Kit", "Varga", date(2014, 5, 14), guid=kid.sims_guid,  # the matching alone would queue it
                        home=address("3", "Church Lane", "Demoby", "DM2 4RS"))
        second = send(env, capsys, school, [renamed])
    [record] = records(env, second)["Kit"]
    assert (record.status, record.decision) == ("matched", "guid")


def test_a_wrong_rejection_is_corrected_by_matching_a_rejected_copy(env, capsys):
    kid = pupil("Nell", "Ward", date(2015, 8, 8), gender="F")
    person = add_person(env.ctx, forename="Eleanor", surname="Ward-Hill", dob=date(2015, 8, 9), gender="F",
                        **ELSEWHERE)
    with running_server(env.config_path) as srv:
        school = zeep_client(srv, "sims", PASSWORD)
        first = send(env, capsys, school, [kid])
        cli(env, capsys, "review", "reject", str(records(env, first)["Nell"][0].id), "--reason", "test pupil")
        [again] = records(env, send(env, capsys, school, [kid]))["Nell"]
        assert (again.status, again.reason) == ("rejected", "test pupil")
        code, matched, _ = cli(env, capsys, "review", "match", str(again.id), str(person))
        assert code == 0 and matched["person_id"] == person
        [third] = records(env, send(env, capsys, school, [kid]))["Nell"]
    assert (third.status, third.decision, third.person_id) == ("matched", "guid", person)


def test_a_contact_is_matched_by_hand_only_to_a_person_aged_carer_min_or_over(env, capsys):
    child = add_person(env.ctx, forename="Tilly", surname="Marsh", dob=date(date.today().year - 9, 1, 1),
                       gender="F", **ELSEWHERE)
    adult = add_person(env.ctx, forename="Tess", surname="Marsh", dob=date(1984, 1, 1), gender="F", **ELSEWHERE)
    kid = pupil("Milo", "Marsh", date(2016, 2, 2), contacts=[contact("Terri", "Marshall")])
    with running_server(env.config_path) as srv:
        school = zeep_client(srv, "sims", PASSWORD)
        file_id = send(env, capsys, school, [kid])
        [carer] = records(env, file_id)["Terri"]
        assert carer.status == "unmatched"

        code, _, err = cli(env, capsys, "review", "match", str(carer.id), str(child))
        assert code == 1 and "aged 16 (CARER_MIN) or over" in err and "is 9" in err

        admin = zeep_client(srv, "officer", PASSWORD, admin=True)
        with pytest.raises(Fault) as refused:
            admin.service.MatchIncoming(incomingId=carer.id, personId=child)
        assert fault_code(refused.value, admin) == "ValidationFailed"
        assert "aged 16 (CARER_MIN) or over" in refused.value.message

        web = make_web_app(env.ctx).test_client()
        sign_in(web, "officer", PASSWORD)
        search = web.get(f"/unmatched/{carer.id}/search?surname=Marsh").get_data(as_text=True)
        assert "Marsh, Tess" in search and "Marsh, Tilly" not in search
        answer = post_form(web, f"/unmatched/{carer.id}", f"/unmatched/{carer.id}/match", {"person_id": child})
        page = answer.get_data(as_text=True)
        assert answer.status_code == 400 and "govuk-error-summary" in page and "(CARER_MIN) or over" in page
        assert records(env, file_id)["Terri"][0].status == "unmatched"

        admin.service.MatchIncoming(incomingId=carer.id, personId=adult)
    assert (records(env, file_id)["Terri"][0].status, records(env, file_id)["Terri"][0].person_id) == (
        "matched", adult)


def _town_conflict(env: ServiceEnv, capsys, srv) -> tuple[int, object]:
    """Ivy's school sends NORTHBRIDGE where the LA holds Southgate; the LA then corrects its value
    to Northbridge. Returns the person and the admin client."""
    person = add_person(env.ctx, forename="Ivy", surname="Lowe", dob=date(2012, 7, 7), gender="F", upn="",
                        address="12 High Street", town="Southgate", postcode="EX1 2AB")
    kid = pupil("Ivy", "Lowe", date(2012, 7, 7), gender="F",
                home=address("12", "High Street", "NORTHBRIDGE", "EX1 2AB"))
    send(env, capsys, zeep_client(srv, "sims", PASSWORD), [kid])
    admin = zeep_client(srv, "officer", PASSWORD, admin=True)
    [conflict] = admin.service.ListConflicts(baseLaestab=LAESTAB, personId=None, field=None, page=1,
                                             pageSize=50).Items.ConflictItem
    assert (conflict.Field, conflict.LaValue, conflict.IncomingValue) == ("town", "Southgate", "NORTHBRIDGE")
    admin.service.UpdatePerson(personId=person, fields={"FieldValue": [{"Name": "town", "Value": "Northbridge"}]})
    return person, admin


def test_conflict_lists_show_the_la_value_as_it_is_now(env, capsys):
    with running_server(env.config_path) as srv:
        person, admin = _town_conflict(env, capsys, srv)
        [listed] = admin.service.ListConflicts(baseLaestab=LAESTAB, personId=None, field=None, page=1,
                                               pageSize=50).Items.ConflictItem
        assert listed.LaValue == "Northbridge"
    _, rows, _ = cli(env, capsys, "conflicts", "list", "--base", LAESTAB)
    assert [r["la_value"] for r in rows] == ["Northbridge"]
    web = make_web_app(env.ctx).test_client()
    sign_in(web, "officer", PASSWORD)
    for url in ("/conflicts/", f"/conflicts/person/{person}"):
        page = web.get(url).get_data(as_text=True)
        assert "Northbridge" in page and "Southgate" not in page, url


def test_clear_conflicts_ignores_case_and_spacing_as_detection_does(env, capsys):
    with running_server(env.config_path) as srv:
        _town_conflict(env, capsys, srv)
    code, ran, _ = cli(env, capsys, "jobs", "run", "clear_conflicts")
    assert code == 0, ran
    _, rows, _ = cli(env, capsys, "conflicts", "list", "--base", LAESTAB, "--status", "cleared")
    assert [(r["field"], r["incoming_value"]) for r in rows] == [("town", "NORTHBRIDGE")]
    _, rows, _ = cli(env, capsys, "conflicts", "list", "--base", LAESTAB)
    assert rows == []
