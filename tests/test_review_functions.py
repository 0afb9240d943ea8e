"""LA review functions: B2B_S_AGE listing, permissions, manual decisions, conflicts, reports."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from b2b_soap.db import AuditEntry, Conflict, IncomingRecord, Person, PersonIdentifier, VirtualFile, session_scope
from b2b_soap.errors import PermissionDenied, ValidationFailed
from b2b_soap.operations.retention import run_retention
from b2b_soap.review import (base_report, create_person_from_incoming, get_incoming, import_file, list_conflicts,
                             list_unmatched, match_incoming, reject_incoming, reopen_incoming, resolve_conflicts,
                             undo_plan, update_person)
from b2b_soap.review.unmatched import years_before
from b2b_soap.security import CONFLICTS, UNMATCHED
from processing_support import (add_base, add_bystander, add_la_user, add_person, contact, fresh_upn, get_person,
                                pupil, transfer_bytes, upload_and_process)

TODAY = date(2026, 3, 15)
HOME = dict(address="12 High Street", town="Exampleton", postcode="EX1 2AB")


@pytest.fixture
def base_id(ctx):
    add_bystander(ctx)
    return add_base(ctx)


def unmatched_names(ctx, actor="admin", today=TODAY, **filters):
    with session_scope(ctx.sessions) as session:
        page = list_unmatched(session, actor, ctx.settings, today=today, **filters)
    return sorted(item["forename"] for item in page["items"])


def test_b2b_s_age_lists_18_but_not_19(ctx, base_id):
    eighteen = years_before(TODAY, 19).replace(day=TODAY.day + 1)   # 19 tomorrow
    nineteen = years_before(TODAY, 19)                              # 19 today
    upload_and_process(ctx, base_id, [pupil("Eighteen", "Older", eighteen, ncy="14"),
                                      pupil("Nineteen", "Oldest", nineteen, ncy="14"),
                                      pupil("Young", "Pupil", date(2016, 5, 5), ncy="4")])
    assert unmatched_names(ctx) == ["Eighteen", "Young"]
    assert unmatched_names(ctx, ncy="4") == ["Young"]
    assert unmatched_names(ctx, min_age=18) == ["Eighteen"]
    assert unmatched_names(ctx, max_age=10, has_candidates=False) == ["Young"]
    assert unmatched_names(ctx, base="9994001") == ["Eighteen", "Young"]
    assert unmatched_names(ctx, kind="both") == ["Eighteen", "Young"]


def test_on_29_february_the_ages_count_a_birthday_on_28_february_as_passed(ctx, base_id):
    leap_day = date(2028, 2, 29)   # 19, 10 years earlier there is no 29 February
    upload_and_process(ctx, base_id, [pupil("Nineteen", "Older", date(2009, 2, 28), ncy="14"),
                                      pupil("Eighteen", "Older", date(2009, 3, 1), ncy="14"),
                                      pupil("Ten", "Young", date(2018, 2, 28), ncy="5"),
                                      pupil("Nine", "Young", date(2018, 3, 1), ncy="4")])
    assert unmatched_names(ctx, today=leap_day) == ["Eighteen", "Nine", "Ten"]
    assert unmatched_names(ctx, today=leap_day, max_age=9) == ["Nine"]
    assert unmatched_names(ctx, today=leap_day, min_age=10) == ["Eighteen", "Ten"]
    with session_scope(ctx.sessions) as session:
        items = list_unmatched(session, "admin", ctx.settings, today=leap_day)["items"]
    assert sorted((item["forename"], item["age"]) for item in items) == [("Eighteen", 18), ("Nine", 9), ("Ten", 10)]


def test_each_listed_record_names_the_base_that_sent_it(ctx, base_id):
    other = add_base(ctx, "9994002")
    upload_and_process(ctx, base_id, [pupil("Ada", "First", date(2014, 2, 2))])
    upload_and_process(ctx, other, [pupil("Ben", "Second", date(2014, 3, 3))], "9994002")
    with session_scope(ctx.sessions) as session:
        items = list_unmatched(session, "admin", ctx.settings, today=TODAY)["items"]
    assert sorted((item["forename"], item["base"]) for item in items) == [("Ada", "9994001"), ("Ben", "9994002")]


def test_pages_of_the_unmatched_list_follow_each_other(ctx, base_id):
    upload_and_process(ctx, base_id, [pupil("Kai", surname, date(2014, 2, 2)) for surname in "ABCDE"])
    with session_scope(ctx.sessions) as session:
        pages = [list_unmatched(session, "admin", ctx.settings, today=TODAY, sort="name", page=page, page_size=2)
                 for page in (1, 2, 3)]
    assert [[item["surname"] for item in page["items"]] for page in pages] == [["A", "B"], ["C", "D"], ["E"]]
    assert {page["total"] for page in pages} == {5}


def test_permissions_are_checked_and_reads_audited(ctx, base_id):
    reader = add_la_user(ctx, "reader", {UNMATCHED: "Read"})
    nobody = add_la_user(ctx, "nobody", {CONFLICTS: "Read"})
    file_id = upload_and_process(ctx, base_id, [pupil("Kai", "Moreno", date(2011, 3, 3))])
    assert unmatched_names(ctx, reader) == ["Kai"]
    with pytest.raises(PermissionDenied):
        unmatched_names(ctx, nobody)
    with session_scope(ctx.sessions) as session:
        record = session.scalar(select(IncomingRecord).where(IncomingRecord.file_id == file_id))
        with pytest.raises(PermissionDenied):
            reject_incoming(session, reader, record.id)
    with session_scope(ctx.sessions) as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "reader")).all()
        assert actions == ["review.list_unmatched"]


def test_get_incoming_shows_candidates_and_contacts_then_match_by_hand(ctx, base_id):
    child = add_person(ctx, forename="Isla", surname="Walker", dob=date(2013, 2, 17), gender="F", **HOME)
    mum = add_person(ctx, forename="Jo", surname="Walker", dob=date(1985, 1, 1), gender="F", **HOME)
    other = add_person(ctx, forename="Isabel", surname="Walker", dob=date(2013, 2, 17), gender="F", **HOME)
    sent = pupil("Isla", "Walker", date(2013, 2, 17), gender="F", contacts=[contact("Jo", "Walker")])
    sent.forename = "Bea"
    file_id = upload_and_process(ctx, base_id, [sent])
    with session_scope(ctx.sessions) as session:
        record = session.scalar(select(IncomingRecord).where(IncomingRecord.file_id == file_id,
                                                             IncomingRecord.kind == "pupil"))
        detail = get_incoming(session, "admin", record.id)
    assert detail["status"] == "unmatched" and 1 <= len(detail["candidates"]) <= 5
    offered = {c["person_id"] for c in detail["candidates"]}
    # the household rule proposes everyone at the address; in a population of four the mother scores too
    assert child in offered and offered <= {child, other, mum}
    assert detail["candidates"][0]["explanation"]["comparisons"]
    [carer] = detail["contacts"]
    assert (carer["status"], carer["person_id"]) == ("matched", mum)
    with session_scope(ctx.sessions) as session:
        result = match_incoming(session, "admin", record.id, child, settings=ctx.settings)
    assert result["decision"] == "manual" and result["conflicts"] == 1     # forename Bea vs Isla
    with session_scope(ctx.sessions) as session:
        assert session.get(PersonIdentifier, (base_id, sent.sims_guid)).person_id == child
        vf = session.get(VirtualFile, file_id)
        assert (vf.matched_count, vf.unmatched_count) == (1, 0)
        from b2b_soap.db import CarerLink
        assert session.get(CarerLink, (child, mum)).relationship == "PAM"


def test_create_person_and_reject(ctx, base_id):
    file_id = upload_and_process(ctx, base_id, [pupil("Kai", "Moreno", date(2011, 3, 3)),
                                                pupil("Tom", "Nobody", date(2012, 3, 3))])
    with session_scope(ctx.sessions) as session:
        kai, tom = session.scalars(select(IncomingRecord).where(IncomingRecord.file_id == file_id)
                                   .order_by(IncomingRecord.seq)).all()
        created = create_person_from_incoming(session, "admin", kai.id, settings=ctx.settings)
        reject_incoming(session, "admin", tom.id, "not ours")
        with pytest.raises(ValidationFailed):
            reject_incoming(session, "admin", tom.id)
    with session_scope(ctx.sessions) as session:
        person = session.get(Person, created["person_id"])
        assert (person.forename, person.surname, person.dob) == ("Kai", "Moreno", date(2011, 3, 3))
        assert created["conflicts"] == 0
    assert unmatched_names(ctx) == []


def test_a_rejection_keeps_the_first_2000_characters_of_its_reason(ctx, base_id):
    reason = "Not one of ours: " + "moved away. " * 200
    file_id = upload_and_process(ctx, base_id, [pupil("Kai", "Moreno", date(2011, 3, 3))])
    with session_scope(ctx.sessions) as session:
        kai = session.scalar(select(IncomingRecord.id).where(IncomingRecord.file_id == file_id))
        reject_incoming(session, "admin", kai, reason)
    with session_scope(ctx.sessions) as session:
        assert session.get(IncomingRecord, kai).reason == reason[:2000]


def test_a_reviewers_reason_is_shown_as_written_even_in_the_matchings_words(ctx, base_id):
    reason = "UPN matches but demographics contradict: dob: the school confirmed another child"
    file_id = upload_and_process(ctx, base_id, [pupil("Kai", "Moreno", date(2011, 3, 3))])
    with session_scope(ctx.sessions) as session:
        kai = session.scalar(select(IncomingRecord.id).where(IncomingRecord.file_id == file_id))
        assert get_incoming(session, "admin", kai)["why"].startswith("No one in the LA's population scored")
        reject_incoming(session, "admin", kai, reason)
    with session_scope(ctx.sessions) as session:
        assert get_incoming(session, "admin", kai)["why"] == reason


def test_undoing_one_rejection_reopens_that_pupil_alone(ctx, base_id):
    guids = ("11111111-1111-4111-8111-111111111111", "99999999-9999-4999-8999-999999999999")
    file_id = upload_and_process(ctx, base_id, [pupil("Kai", "Moreno", date(2011, 3, 3), guid=guids[0]),
                                                pupil("Tom", "Nobody", date(2012, 3, 3), guid=guids[1])])
    with session_scope(ctx.sessions) as session:
        kai, tom = session.scalars(select(IncomingRecord.id).where(IncomingRecord.file_id == file_id)
                                   .order_by(IncomingRecord.seq)).all()
        for record in (kai, tom):
            reject_incoming(session, "admin", record, "not ours")
    with session_scope(ctx.sessions) as session:
        plan = reopen_incoming(session, "admin", kai)
    assert (plan["records"], plan["reopened_id"]) == ([kai], kai)
    assert unmatched_names(ctx) == ["Kai"]


def test_undoing_a_creation_removes_the_person_while_other_records_wait_with_candidates(ctx, base_id):
    for twin in ("Isla", "Isabel"):
        add_person(ctx, forename=twin, surname="Walker", dob=date(2013, 2, 17), gender="F", **HOME)
    file_id = upload_and_process(ctx, base_id, [pupil("Bea", "Walker", date(2013, 2, 17), gender="F"),
                                                pupil("Kai", "Moreno", date(2011, 3, 3))])
    with session_scope(ctx.sessions) as session:
        bea, kai = session.scalars(select(IncomingRecord).where(IncomingRecord.file_id == file_id)
                                   .order_by(IncomingRecord.seq)).all()
        assert (bea.status, bea.has_candidates) == ("unmatched", True)
        created = create_person_from_incoming(session, "admin", kai.id, settings=ctx.settings)["person_id"]
    with session_scope(ctx.sessions) as session:
        plan = reopen_incoming(session, "admin", kai.id)
    assert (plan["person_removed"], plan["person_kept_because"]) == (True, "")
    with session_scope(ctx.sessions) as session:
        assert session.get(Person, created) is None


def test_a_created_person_linked_to_another_sims_guid_is_kept_on_undo(ctx, base_id):
    """The school recreated the pupil under a new SIMS GUID; the old record, matched by hand later,
    has since gone with retention."""
    old_file = upload_and_process(ctx, base_id, [pupil("Sam", "Reed", date(2012, 5, 5))])
    new_file = upload_and_process(ctx, base_id, [pupil("Sam", "Reed", date(2012, 5, 5))])
    with session_scope(ctx.sessions) as session:
        old, new = (session.scalar(select(IncomingRecord.id).where(IncomingRecord.file_id == f))
                    for f in (old_file, new_file))
        created = create_person_from_incoming(session, "admin", new, settings=ctx.settings)["person_id"]
        match_incoming(session, "admin", old, created, settings=ctx.settings)
        session.get(IncomingRecord, old).received_at -= timedelta(days=400)
    assert run_retention(ctx, incoming_days=365)["incoming_records_deleted"] == 1
    with session_scope(ctx.sessions) as session:
        plan = undo_plan(session, "admin", new)
    assert (plan["person_removed"], plan["person_kept_because"]) == (False, "another SIMS GUID is linked to it")


def test_undo_removes_no_guid_link_but_the_records_own(ctx, base_id):
    """The pupil's GUID, sent again for a contact, was linked to the contact's person; the pupil's
    person is linked to a later GUID of the recreated pupil."""
    sam = pupil("Sam", "Reed", date(2010, 6, 6), guid="11111111-1111-4111-8111-111111111111")
    lily = pupil("Lily", "Reed", date(2016, 6, 6), contacts=[contact("Sam", "Reed", guid=sam.sims_guid, gender="M")])
    adult = add_person(ctx, forename="Tom", surname="Cole", dob=date(1980, 1, 1), gender="M", address="3 Low Road",
                       town="Elsewhere", postcode="ZZ1 1ZZ")
    file_id = upload_and_process(ctx, base_id, [sam, lily])
    with session_scope(ctx.sessions) as session:
        by_kind = dict(session.execute(select(IncomingRecord.kind, IncomingRecord.id).where(
            IncomingRecord.file_id == file_id, IncomingRecord.forename == "Sam")).all())
        created = create_person_from_incoming(session, "admin", by_kind["pupil"], settings=ctx.settings)["person_id"]
        match_incoming(session, "admin", by_kind["contact"], adult, settings=ctx.settings)
    recreated = "99999999-9999-4999-8999-999999999999"
    upload_and_process(ctx, base_id, [pupil("Sam", "Reed", date(2010, 6, 6), upn=sam.upn, guid=recreated)])
    with session_scope(ctx.sessions) as session:
        assert reopen_incoming(session, "admin", by_kind["pupil"])["guid_link"] == ""
    with session_scope(ctx.sessions) as session:
        links = session.execute(select(PersonIdentifier.sims_guid, PersonIdentifier.person_id)).all()
    assert sorted(links) == [(sam.sims_guid, adult), (recreated, created)]


def test_undoing_a_rematch_keeps_the_values_the_second_person_already_held(ctx, base_id):
    first = add_person(ctx, forename="Kai", surname="Moreno", dob=date(2011, 3, 3), gender="M")
    second = add_person(ctx, forename="Kai", surname="Moreno", dob=date(2011, 3, 3), gender="M", **HOME)
    sent = pupil("Kai", "Moreno", date(2011, 3, 3))
    file_id = upload_and_process(ctx, base_id, [sent])
    with session_scope(ctx.sessions) as session:
        kai = session.scalar(select(IncomingRecord.id).where(IncomingRecord.file_id == file_id))
        for person in (first, second):  # the home filled on the first person is emptied again
            match_incoming(session, "admin", kai, person, settings=ctx.settings)
    with session_scope(ctx.sessions) as session:
        assert reopen_incoming(session, "admin", kai)["filled"] == {"upn": sent.upn}
    held = get_person(ctx, second)
    assert (held.address, held.town, held.postcode) == (HOME["address"], HOME["town"], HOME["postcode"])


def test_a_person_created_from_a_record_leaves_out_a_upn_its_file_repeats(ctx, base_id):
    upn = fresh_upn()
    file_id = upload_and_process(ctx, base_id, [pupil("Kai", "Moreno", date(2011, 3, 3), upn=upn),
                                                pupil("Tom", "Nobody", date(2012, 3, 3), upn=upn)])
    with session_scope(ctx.sessions) as session:
        tom = session.scalar(select(IncomingRecord.id).where(IncomingRecord.file_id == file_id,
                                                             IncomingRecord.forename == "Tom"))
        assert [(f["code"], f["field"]) for f in get_incoming(session, "admin", tom)["findings"]] == [
            ("duplicate_upn", "upn")]
        created = create_person_from_incoming(session, "admin", tom, settings=ctx.settings)
    person = get_person(ctx, created["person_id"])
    assert (person.forename, person.upn) == ("Tom", "")


def test_a_decision_on_a_pupil_leaves_a_contact_with_the_same_sims_guid_waiting(ctx, base_id):
    """A school's file may name a pupil as a contact of a sibling under the same SIMS GUID."""
    sam = pupil("Sam", "Reed", date(2010, 6, 6))
    lily = pupil("Lily", "Reed", date(2016, 6, 6), contacts=[contact("Sam", "Reed", guid=sam.sims_guid, gender="M")])
    file_id = upload_and_process(ctx, base_id, [sam, lily])
    with session_scope(ctx.sessions) as session:
        [pupil_sam] = session.scalars(select(IncomingRecord.id).where(
            IncomingRecord.file_id == file_id, IncomingRecord.kind == "pupil", IncomingRecord.forename == "Sam"))
        create_person_from_incoming(session, "admin", pupil_sam, settings=ctx.settings)
    with session_scope(ctx.sessions) as session:
        statuses = session.execute(select(IncomingRecord.kind, IncomingRecord.status).where(
            IncomingRecord.file_id == file_id, IncomingRecord.forename == "Sam")).all()
        contacts = list_unmatched(session, "admin", ctx.settings, kind="contact", today=TODAY)["items"]
    assert sorted(statuses) == [("contact", "unmatched"), ("pupil", "matched")]
    assert [item["forename"] for item in contacts] == ["Sam"]


def test_conflicts_listed_and_resolved_in_bulk_and_person_updated(ctx, base_id):
    person = add_person(ctx, forename="Noah", surname="Fletcher", dob=date(2014, 9, 23), gender="M", **HOME)
    from processing_support import address
    upload_and_process(ctx, base_id, [pupil("Noah", "Fletcher", date(2014, 9, 23),
                                            home=address("7", "Mill Lane", "Northbridge", "NB3 9QT"))])
    with session_scope(ctx.sessions) as session:
        page = list_conflicts(session, "admin", base="9994001")
        assert page["total"] == 3
        resolve_conflicts(session, "admin", [c["id"] for c in page["items"]], "take")
    with session_scope(ctx.sessions) as session:
        moved = session.get(Person, person)
        assert (moved.address, moved.town, moved.postcode) == ("7 Mill Lane", "Northbridge", "NB3 9QT")
        assert list_conflicts(session, "admin")["total"] == 0
        assert {c.status for c in session.scalars(select(Conflict))} == {"taken"}
        update_person(session, "admin", person, {"forename": "Noah-James"})
        assert session.get(Person, person).forename == "Noah-James"


def test_base_report_and_import(ctx, base_id):
    data = transfer_bytes([pupil("Kai", "Moreno", date(2011, 3, 3), upn="A999400120001")])
    result = import_file(ctx, "officer", data, "9994001", "from-email.xml")
    assert result["status"] == "Received"
    from b2b_soap.processing import run_pending
    assert [r.status for r in run_pending(ctx)] == ["Processed"]
    with session_scope(ctx.sessions) as session:
        vf = session.get(VirtualFile, result["file_id"])
        assert (vf.source, vf.imported_by) == ("import", "officer")
        report = base_report(session, "admin", "9994001")
    assert report["last_file"]["id"] == result["file_id"]
    assert report["files_by_status"] == {"Processed": 1}
    assert report["waiting_unmatched"] == 1 and report["open_conflicts"] == 0
    assert report["findings_by_code"] == {"invalid_upn": 1}
    with pytest.raises(ValidationFailed, match="names base 9994999"):
        import_file(ctx, "officer", transfer_bytes([pupil("A", "B", date(2011, 1, 1))], "9994999"),
                    "9994001", "wrong.xml")
