"""Processing rules on small hand-made cases: GUID, UPN, demographics, findings, after a match."""
from __future__ import annotations

import gc
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from b2b_soap.defaults import set_default
from b2b_soap.db import (CacheEntry, CarerLink, Conflict, Enrolment, Finding, IncomingRecord, MatchCandidate,
                         PersonIdentifier, VirtualFile, session_scope)
from b2b_soap.files import claim_next
from b2b_soap.processing.run import process_claimed, process_next
from processing_support import (add_base, add_bystander, add_person, address, contact, fresh_upn, get_person, pupil,
                                upload, upload_and_process)

HOME = dict(address="12 High Street", town="Exampleton", postcode="EX1 2AB")


@pytest.fixture
def base_id(ctx):
    add_bystander(ctx)
    return add_base(ctx)


def records(ctx, file_id, kind="pupil"):
    with session_scope(ctx.sessions) as session:
        rows = session.scalars(select(IncomingRecord).where(IncomingRecord.file_id == file_id,
                                                            IncomingRecord.kind == kind)
                               .order_by(IncomingRecord.seq)).all()
        session.expunge_all()
        return rows


def one(ctx, file_id, kind="pupil"):
    found = records(ctx, file_id, kind)
    assert len(found) == 1
    return found[0]


def conflicts(ctx, person_id=None, status="open"):
    with session_scope(ctx.sessions) as session:
        query = select(Conflict).where(Conflict.status == status)
        if person_id is not None:
            query = query.where(Conflict.person_id == person_id)
        rows = session.scalars(query.order_by(Conflict.field)).all()
        session.expunge_all()
        return rows


def test_valid_upn_matches_and_file_counts(ctx, base_id):
    upn = fresh_upn()
    person = add_person(ctx, upn=upn, forename="Amelia", surname="Clarke", dob=date(2015, 3, 4), gender="F", **HOME)
    file_id = upload_and_process(ctx, base_id, [pupil("Amelia", "Clarke", date(2015, 3, 4), upn=upn, gender="F")])
    record = one(ctx, file_id)
    assert (record.status, record.decision, record.person_id) == ("matched", "upn", person)
    with session_scope(ctx.sessions) as session:
        vf = session.get(VirtualFile, file_id)
        assert (vf.status, vf.pupil_count, vf.matched_count, vf.unmatched_count, vf.conflict_count) == (
            "Processed", 1, 1, 0, 0)
        enrolment = session.scalar(select(Enrolment).where(Enrolment.person_id == person))
        assert (enrolment.base_id, enrolment.ncy, enrolment.source_file_id) == (base_id, "5", file_id)
        assert session.get(PersonIdentifier, (base_id, record.sims_guid)).person_id == person


def test_upn_contradicted_by_demographics_is_possible_with_reason(ctx, base_id):
    upn = fresh_upn()
    person = add_person(ctx, upn=upn, forename="Amelia", surname="Clarke", dob=date(2015, 3, 4), gender="F", **HOME)
    file_id = upload_and_process(ctx, base_id, [pupil("Oliver", "Bennett", date(2012, 11, 20), upn=upn)])
    record = one(ctx, file_id)
    assert (record.status, record.decision, record.person_id) == ("unmatched", "possible", None)
    assert "contradict" in record.reason and "dob" in record.reason
    with session_scope(ctx.sessions) as session:
        candidates = session.scalars(select(MatchCandidate).where(MatchCandidate.incoming_id == record.id)).all()
        assert [c.person_id for c in candidates] == [person]
        assert candidates[0].explanation["upn_match"] is True


def test_invalid_upn_is_a_finding_and_matching_goes_on(ctx, base_id):
    person = add_person(ctx, forename="Harvey", surname="Nowak", dob=date(2014, 6, 30), gender="M", **HOME)
    bad = "A999400120001"  # structurally fine for the XSD, wrong check letter
    file_id = upload_and_process(ctx, base_id, [pupil("Harvey", "Nowak", date(2014, 6, 30), upn=bad)])
    record = one(ctx, file_id)
    assert (record.status, record.decision, record.person_id) == ("matched", "auto", person)
    with session_scope(ctx.sessions) as session:
        findings = session.scalars(select(Finding).where(Finding.file_id == file_id)).all()
        assert [(f.code, f.field, f.incoming_id) for f in findings] == [("invalid_upn", "upn", record.id)]
    assert get_person(ctx, person).upn == ""  # an invalid UPN never fills the LA's record
    assert conflicts(ctx, person) == []


def test_future_dob_is_a_finding(ctx, base_id):
    future = date.today() + timedelta(days=30)
    file_id = upload_and_process(ctx, base_id, [pupil("Zara", "Khan", future)])
    record = one(ctx, file_id)
    assert record.status == "unmatched"
    upload_and_process(ctx, base_id, [pupil("Omar", "Khan", date(2015, 1, 1))])
    with session_scope(ctx.sessions) as session:  # the next file keeps this file's findings
        assert session.scalars(select(Finding.code).where(Finding.file_id == file_id)).all() == ["future_dob"]


def test_a_date_of_birth_of_the_day_of_processing_is_not_in_the_future(ctx, base_id):
    today = date(2026, 3, 15)
    file_id = upload(ctx, base_id, [pupil("Zara", "Khan", today), pupil("Zoe", "Khan", today + timedelta(days=1))])
    assert process_next(ctx, "worker", today=today).status == "Processed"
    with session_scope(ctx.sessions) as session:
        found = session.execute(select(IncomingRecord.forename, Finding.code).join(
            Finding, Finding.incoming_id == IncomingRecord.id).where(Finding.file_id == file_id)).all()
    assert found == [("Zoe", "future_dob")]


def test_twins_each_match_their_own_record(ctx, base_id):
    dob = date(2016, 1, 9)
    ella = add_person(ctx, forename="Ella", surname="Turner", dob=dob, gender="F", **HOME)
    grace = add_person(ctx, forename="Grace", surname="Turner", dob=dob, gender="F", **HOME)
    add_person(ctx, forename="Jack", surname="Turner", dob=date(2013, 5, 2), gender="M", **HOME)
    file_id = upload_and_process(ctx, base_id, [pupil("Grace", "Turner", dob, gender="F"),
                                                pupil("Ella", "Turner", dob, gender="F")])
    assert [(r.decision, r.person_id) for r in records(ctx, file_id)] == [("auto", grace), ("auto", ella)]


def test_changed_surname_matches_with_a_surname_conflict(ctx, base_id):
    person = add_person(ctx, forename="Isla", surname="Walker", dob=date(2013, 2, 17), gender="F", **HOME)
    file_id = upload_and_process(ctx, base_id, [pupil("Isla", "Robinson", date(2013, 2, 17), gender="F")])
    record = one(ctx, file_id)
    assert (record.decision, record.person_id) == ("auto", person)
    assert [(c.field, c.la_value, c.incoming_value) for c in conflicts(ctx, person)] == [
        ("surname", "Walker", "Robinson")]


def test_moved_house_matches_with_address_conflicts(ctx, base_id):
    person = add_person(ctx, forename="Noah", surname="Fletcher", dob=date(2014, 9, 23), gender="M", **HOME)
    new_home = address("7", "Mill Lane", "Northbridge", "NB3 9QT")
    file_id = upload_and_process(ctx, base_id, [pupil("Noah", "Fletcher", date(2014, 9, 23), home=new_home)])
    record = one(ctx, file_id)
    assert (record.decision, record.person_id) == ("auto", person)
    assert {c.field: c.incoming_value for c in conflicts(ctx, person)} == {
        "address": "7 Mill Lane", "postcode": "NB3 9QT", "town": "Northbridge"}


def test_a_postcode_sent_without_its_space_is_no_conflict(ctx, base_id):
    person = add_person(ctx, forename="Noah", surname="Fletcher", dob=date(2014, 9, 23), gender="M", **HOME)
    file_id = upload_and_process(ctx, base_id, [pupil("Noah", "Fletcher", date(2014, 9, 23),
                                                      home=address(postcode="EX12AB"))])
    record = one(ctx, file_id)
    assert (record.decision, record.person_id) == ("auto", person)
    assert [(c.field, c.incoming_value) for c in conflicts(ctx, person)] == []


def test_la_empty_fields_are_filled_and_audited(ctx, base_id):
    from b2b_soap.db import AuditEntry
    person = add_person(ctx, forename="Ruby", surname="Hughes", dob=date(2015, 7, 1), gender="F", **HOME)
    upn = fresh_upn()
    upload_and_process(ctx, base_id, [pupil("Ruby", "Hughes", date(2015, 7, 1), gender="F", upn=upn,
                                            middle_names="May")])
    filled = get_person(ctx, person)
    assert (filled.upn, filled.middle_names) == (upn, "May")
    assert conflicts(ctx, person) == []
    with session_scope(ctx.sessions) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "person.fill"))
        assert entry.object_id == str(person) and entry.after == {"upn": upn, "middle_names": "May"}


def test_cache_suppresses_a_second_conflict_for_the_same_value(ctx, base_id):
    from b2b_soap.review import resolve_conflict
    person = add_person(ctx, forename="Leo", surname="Baker", dob=date(2012, 4, 12), gender="M", **HOME)
    sent = pupil("Leo", "Baker-Smith", date(2012, 4, 12))
    upload_and_process(ctx, base_id, [sent])
    [conflict] = conflicts(ctx, person)
    with session_scope(ctx.sessions) as session:
        resolve_conflict(session, "officer", conflict.id, "keep")
    second = upload_and_process(ctx, base_id, [sent])
    assert conflicts(ctx, person) == []
    assert one(ctx, second).decision == "guid"
    with session_scope(ctx.sessions) as session:
        assert session.get(VirtualFile, second).conflict_count == 0
        assert session.get(CacheEntry, (person, "surname")).value == "Baker-Smith"
    changed = pupil("Leo", "Smith", date(2012, 4, 12), guid=sent.sims_guid, upn=sent.upn)
    upload_and_process(ctx, base_id, [changed])
    assert [c.incoming_value for c in conflicts(ctx, person)] == ["Smith"]


def test_without_cache_the_same_value_conflicts_again(ctx, base_id):
    from b2b_soap.review import resolve_conflict
    with session_scope(ctx.sessions) as session:
        set_default(session, "test", "B2BHCACHE", "F")
    person = add_person(ctx, forename="Leo", surname="Baker", dob=date(2012, 4, 12), gender="M", **HOME)
    sent = pupil("Leo", "Baker-Smith", date(2012, 4, 12))
    upload_and_process(ctx, base_id, [sent])
    [conflict] = conflicts(ctx, person)
    with session_scope(ctx.sessions) as session:
        resolve_conflict(session, "officer", conflict.id, "keep")
    upload_and_process(ctx, base_id, [sent])
    assert [c.incoming_value for c in conflicts(ctx, person)] == ["Baker-Smith"]


def test_guid_links_first_even_when_demographics_changed(ctx, base_id):
    person = add_person(ctx, forename="Mia", surname="Patel", dob=date(2014, 12, 3), gender="F", **HOME)
    first = pupil("Mia", "Patel", date(2014, 12, 3), gender="F")
    upload_and_process(ctx, base_id, [first])
    renamed = pupil("Mya", "Shah", date(2014, 12, 3), gender="F", guid=first.sims_guid, upn=first.upn,
                    home=address("3", "Church Lane", "Demoby", "DM2 4RS"))
    file_id = upload_and_process(ctx, base_id, [renamed])
    record = one(ctx, file_id)
    assert (record.decision, record.person_id, record.score) == ("guid", person, 1.0)
    assert {c.field for c in conflicts(ctx, person)} == {"forename", "surname", "address", "town", "postcode"}


def test_guid_matching_off_uses_demographics(ctx, base_id):
    add_person(ctx, forename="Mia", surname="Patel", dob=date(2014, 12, 3), gender="F", **HOME)
    first = pupil("Mia", "Patel", date(2014, 12, 3), gender="F")
    upload_and_process(ctx, base_id, [first])
    with session_scope(ctx.sessions) as session:
        set_default(session, "test", "GUIDMATCH", "F")
    file_id = upload_and_process(ctx, base_id, [first])
    assert one(ctx, file_id).decision == "upn"  # the first file filled the LA's empty UPN


def test_guid_relinks_after_a_manual_match_to_another_person(ctx, base_id):
    from b2b_soap.review import match_incoming
    wrong = add_person(ctx, forename="Sam", surname="Evans", dob=date(2013, 8, 8), gender="M", **HOME)
    right = add_person(ctx, forename="Samuel", surname="Evans-Price", dob=date(2013, 8, 8), gender="M",
                       address="40 Park Avenue", town="Testbury", postcode="TB1 1AA")
    sent = pupil("Sam", "Evans", date(2013, 8, 8))
    upload_and_process(ctx, base_id, [sent])
    with session_scope(ctx.sessions) as session:
        assert session.get(PersonIdentifier, (base_id, sent.sims_guid)).person_id == wrong
    second = pupil("Samuel", "Evans-Price", date(2013, 8, 8), guid=sent.sims_guid, upn=sent.upn,
                   home=address("40", "Park Avenue", "Testbury", "TB1 1AA"))
    file_id = upload_and_process(ctx, base_id, [second])
    record = one(ctx, file_id)
    assert (record.decision, record.person_id) == ("guid", wrong)
    with session_scope(ctx.sessions) as session:
        match_incoming(session, "officer", record.id, right, settings=ctx.settings)
    with session_scope(ctx.sessions) as session:
        assert session.get(PersonIdentifier, (base_id, sent.sims_guid)).person_id == right
    third = upload_and_process(ctx, base_id, [second])
    assert (one(ctx, third).decision, one(ctx, third).person_id) == ("guid", right)


def test_contacts_match_carers_only_at_or_above_carer_min(ctx, base_id):
    today = date.today()
    teen = add_person(ctx, forename="Kerry", surname="Doyle", dob=date(today.year - 15, 1, 1), gender="F", **HOME)
    child = add_person(ctx, forename="Finn", surname="Doyle", dob=date(2016, 2, 2), gender="M", **HOME)
    kid = pupil("Finn", "Doyle", date(2016, 2, 2), contacts=[contact("Kerry", "Doyle", relationship="PAM")])
    file_id = upload_and_process(ctx, base_id, [kid])
    assert one(ctx, file_id).person_id == child
    carer = one(ctx, file_id, "contact")
    assert (carer.status, carer.decision) == ("unmatched", "none")
    with session_scope(ctx.sessions) as session:
        set_default(session, "test", "CARER_MIN", "15")
    again = upload_and_process(ctx, base_id, [kid])
    carer = one(ctx, again, "contact")
    assert (carer.status, carer.person_id) == ("matched", teen)
    with session_scope(ctx.sessions) as session:
        link = session.get(CarerLink, (child, teen))
        assert (link.relationship, link.parental_responsibility, link.priority) == ("PAM", True, 1)



def test_a_carer_link_sent_again_unchanged_keeps_its_row_and_a_changed_one_is_updated(ctx, base_id):
    mum = add_person(ctx, forename="Kerry", surname="Doyle", dob=date(1985, 1, 1), gender="F", **HOME)
    child = add_person(ctx, forename="Finn", surname="Doyle", dob=date(2016, 2, 2), gender="M", **HOME)
    carer = contact("Kerry", "Doyle", relationship="PAM")

    def link():
        with session_scope(ctx.sessions) as session:
            found = session.get(CarerLink, (child, mum))
            return found.relationship, found.updated_at

    def send(relationship):
        kid = pupil("Finn", "Doyle", date(2016, 2, 2), guid="6f1c2b7e-3d4a-4b8e-9c1d-2a7e5f0b9c11",
                    contacts=[contact("Kerry", "Doyle", guid=carer.sims_guid, relationship=relationship)])
        upload_and_process(ctx, base_id, [kid])

    send("PAM")
    first = link()
    send("PAM")
    assert link() == first
    send("MUM")
    assert link()[0] == "MUM" and link()[1] > first[1]


def test_no_cyclic_garbage_collection_while_a_file_is_processed(ctx, base_id):
    add_person(ctx, forename="Finn", surname="Doyle", dob=date(2016, 2, 2), gender="M", **HOME)
    upload(ctx, base_id, [pupil("Finn", "Doyle", date(2016, 2, 2), contacts=[contact("Kerry", "Doyle")])
                          for _ in range(50)])
    with session_scope(ctx.sessions) as session:
        claim = claim_next(session, "worker")
    collections = []
    gc.collect()
    gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(info["generation"]))
    try:
        assert process_claimed(ctx, claim).status == "Processed"
    finally:
        gc.callbacks.pop()
    assert len(collections) <= 1 and gc.isenabled()  # at most one, when the collector is back on after the file

def test_two_pupils_of_one_file_never_take_the_same_person(ctx, base_id):
    person = add_person(ctx, forename="Evie", surname="Lloyd", dob=date(2015, 10, 10), gender="F", **HOME)
    file_id = upload_and_process(ctx, base_id, [pupil("Evie", "Lloyd", date(2015, 10, 10), gender="F"),
                                                pupil("Evie", "Lloyd", date(2015, 10, 10), gender="F")])
    first, second = records(ctx, file_id)
    assert (first.decision, first.person_id) == ("auto", person)
    assert (second.status, second.decision, second.has_candidates) == ("unmatched", "possible", True)


def test_unknown_pupil_is_unmatched_without_candidates(ctx, base_id):
    add_person(ctx, forename="Evie", surname="Lloyd", dob=date(2015, 10, 10), gender="F", **HOME)
    file_id = upload_and_process(ctx, base_id, [pupil("Kai", "Moreno", date(2011, 3, 3),
                                                      home=address("9", "Station Road", "Testbury", "TB9 9ZZ"))])
    record = one(ctx, file_id)
    assert (record.status, record.decision, record.has_candidates) == ("unmatched", "none", False)
    with session_scope(ctx.sessions) as session:
        assert session.scalar(select(func.count()).select_from(MatchCandidate)) == 0
