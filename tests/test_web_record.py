"""The incoming record's page over HTTP: the whole record, its contacts decided with it, undo and
re-match behind a confirmation page, and explanations in words.

The records come from a real file, processed as a school's upload is.
"""
from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import date

from sqlalchemy import select

from b2b_soap.db import CarerLink, IncomingRecord, MatchCandidate, Person, PersonIdentifier, session_scope
from b2b_soap.matching import make_upn
from b2b_soap.transfer.models import Phone
from b2b_soap.web import make_web_app
from processing_support import add_bystander, add_person, address, contact, pupil, upload_and_process
from test_web_auth import world  # noqa: F401 (fixture: a licensed LA with users, no review data)
from test_web_pages import client  # noqa: F401 (fixture: signed in as the reviewer)
from test_web_support import post_form, sign_in

LAESTAB = "9991001"
UPN, FORMER_UPN, OTHER_UPN = (make_upn("999", "1001", 2015, n) for n in (1, 2, 3))


def _text(client, url: str, status: int = 200) -> str:
    """The page's main content as plain words."""
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:2000])
    page = response.get_data(as_text=True)
    main = page[page.index("<main"):page.index("</main>")]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)).replace(" .", "."))


def _records(world, file_id: str) -> dict[str, IncomingRecord]:
    with session_scope(world.ctx.sessions) as session:
        found = {}
        for record in session.scalars(select(IncomingRecord).where(IncomingRecord.file_id == file_id)):
            session.expunge(record)
            found[record.forename] = record
        return found


def _zed(world) -> dict[str, IncomingRecord]:
    """A pupil with no candidate (the population is empty) and two contacts, all fields filled."""
    una = replace(contact("Una", "Quill", relationship="MUM", responsibility=True), title="Mrs",
                  phones=[Phone("M", "07700 900123")], email="una@example.org")
    pat = replace(contact("Pat", "Ryder", relationship="CAR", responsibility=False, priority=2, gender="M",
                          home=address("9", "Mill Lane", "Demoby", "DM2 4RS")), title="Mr")
    kid = replace(pupil("Zed", "Quill", date(2015, 4, 3), upn=UPN, ncy="5", contacts=[una, pat]),
                  former_upn=FORMER_UPN, preferred_forename="Zeddie", phones=[Phone("H", "01632 960001")],
                  email="zed.home@example.org")
    file_id = upload_and_process(world.ctx, world.base_ids[LAESTAB], [kid], LAESTAB)
    return _records(world, file_id)


def test_whole_record_then_contacts_then_undo_and_rematch(client, world):
    zed = _zed(world)
    pupil_id, una_id, pat_id = zed["Zed"].id, zed["Una"].id, zed["Pat"].id
    page = _text(client, f"/unmatched/{pupil_id}")
    for shown in ("Preferred forename Zeddie", "Date of birth 03 Apr 2015", "Gender M", f"UPN {UPN}",
                  f"Former UPN {FORMER_UPN}", "Address 12 High Street", "Postcode EX1 2AB", "Phone 01632 960001",
                  "E-mail zed.home@example.org", "Year group (NCY) 5", "Enrolment status C (current",
                  "Entry date 02 Sep 2024", "The matching found no candidate"):
        assert shown in page, shown
    for shown in ("Title Mrs", "Relationship MUM", "Parental responsibility Yes", "Phone 07700 900123",
                  "Relationship CAR", "Parental responsibility No", "Contact priority 2", "Postcode DM2 4RS"):
        assert shown in page, shown
    assert page.count("Create a new person") == 3 and page.count("Reject") >= 3

    contacts = _text(client, "/unmatched/?kind=contact")
    assert "Quill, Una" in contacts and "Ryder, Pat" in contacts and "Quill, Zed" not in contacts
    both = _text(client, "/unmatched/?kind=both")
    assert "Quill, Una" in both and "Quill, Zed" in both
    assert "Quill, Una" not in _text(client, "/unmatched/")

    response = post_form(client, f"/unmatched/{pupil_id}", f"/unmatched/{pupil_id}/create", {})
    assert response.headers["Location"].endswith(f"/unmatched/{pupil_id}?done=created#contacts")
    page = _text(client, f"/unmatched/{pupil_id}?done=created")
    assert "2 carers and contacts of this pupil are still waiting" in page and "Undo this decision" in page
    response = post_form(client, f"/unmatched/{pupil_id}", f"/unmatched/{una_id}/create", {})
    assert f"/unmatched/{pupil_id}?done=created#contact-{una_id}" in response.headers["Location"]
    assert "1 carer or contact of this pupil is still waiting" in _text(client, f"/unmatched/{pupil_id}")
    post_form(client, f"/unmatched/{pupil_id}", f"/unmatched/{pat_id}/reject", {"reason": "not a carer"})
    assert "still waiting" not in _text(client, f"/unmatched/{pupil_id}")
    assert "No unmatched" in _text(client, "/unmatched/?kind=both")

    now = _records(world, zed["Zed"].file_id)
    created, una_person = now["Zed"].person_id, now["Una"].person_id
    confirm = _text(client, f"/unmatched/{pupil_id}/reopen")
    for said in (f"The link from SIMS GUID {now['Zed'].sims_guid}", "enrolment at this base (year group 5)",
                 f"Una Quill, person {una_person} as MUM of Zed Quill (born 03 Apr 2015), person {created}",
                 "is removed: nothing else refers to them", "No conflict was opened", "This record waits"):
        assert said in confirm, said
    with session_scope(world.ctx.sessions) as session:
        assert session.get(Person, created) is not None  # the confirmation page changes nothing
    response = post_form(client, f"/unmatched/{pupil_id}/reopen", f"/unmatched/{pupil_id}/reopen", {})
    assert response.headers["Location"].endswith(f"/unmatched/{pupil_id}?done=reopened")
    with session_scope(world.ctx.sessions) as session:
        assert session.get(Person, created) is None
        assert session.scalar(select(CarerLink).where(CarerLink.carer_id == una_person)) is None
        assert session.get(IncomingRecord, pupil_id).status == "unmatched"

    other = add_person(world.ctx, forename="Zedekiah", surname="Quill", dob=date(2015, 4, 3), gender="M",
                       town="Elsewhere")
    post_form(client, f"/unmatched/{pupil_id}", f"/unmatched/{pupil_id}/match", {"person_id": other})
    elder = add_person(world.ctx, forename="Zed", surname="Quill", dob=date(2015, 4, 3), gender="M")
    refused = client.get(f"/unmatched/{pupil_id}/rematch?person_id=abc")
    assert refused.status_code == 400 and "Enter the person number" in refused.get_data(as_text=True)
    refused = client.get(f"/unmatched/{pupil_id}/rematch?person_id=987654")
    assert refused.status_code == 400 and "There is no person 987654" in refused.get_data(as_text=True)
    confirm = _text(client, f"/unmatched/{pupil_id}/rematch?person_id={elder}")
    assert "Re-match to another person" in confirm and f"Zed Quill (born 03 Apr 2015), person {elder}" in confirm
    assert "town: school's value Exampleton, LA's value Elsewhere" in confirm
    assert "Fields this match filled on the person are emptied again:" in confirm and f"upn ({UPN})" in confirm
    response = post_form(client, f"/unmatched/{pupil_id}", f"/unmatched/{pupil_id}/rematch", {"person_id": elder})
    assert response.headers["Location"].endswith(f"/unmatched/{pupil_id}?done=rematched")
    with session_scope(world.ctx.sessions) as session:
        link = session.scalar(select(PersonIdentifier.person_id).where(
            PersonIdentifier.sims_guid == now["Zed"].sims_guid))
        assert link == elder and session.get(Person, other).upn == ""
        assert session.get(CarerLink, (elder, una_person)) is not None
    assert "matched to the other person" in _text(client, f"/unmatched/{pupil_id}?done=rematched")


def test_undo_needs_write_permission_and_a_decided_record(client, world):
    zed = _zed(world)
    assert client.get(f"/unmatched/{zed['Zed'].id}/reopen").status_code == 400  # still waiting: nothing to undo
    reader = make_web_app(world.ctx).test_client()
    sign_in(reader, "reader")
    assert reader.get(f"/unmatched/{zed['Zed'].id}/reopen").status_code == 403
    assert "Undo this decision" not in _text(reader, f"/unmatched/{zed['Una'].id}")


def test_explanations_in_words_with_the_automatic_match_line(client, world):
    zed = _zed(world)
    jon = add_person(world.ctx, forename="Zedd", surname="Quill", dob=None, gender="M", upn=OTHER_UPN,
                     address="3 Low Road", postcode="EX1 2AB")
    explanation = {"probability": 0.62, "match_weight": 2.7, "prior_bits": -10.0, "upn_match": False,
                   "comparisons": [{"name": "forename", "level": "one edit or jaro-winkler >= high", "bits": 6.1},
                                   {"name": "dob", "level": "null", "bits": 0.0},
                                   {"name": "address", "level": "else", "bits": -3.4}]}
    with session_scope(world.ctx.sessions) as session:
        session.add(MatchCandidate(incoming_id=zed["Zed"].id, rank=1, person_id=jon, score=0.62, weight=2.7,
                                   explanation=explanation))
        session.get(IncomingRecord, zed["Zed"].id).reason = "UPN matches but demographics contradict: dob, surname"
    page = _text(client, f"/unmatched/{zed['Zed'].id}")
    assert "Forename: close spelling (Zed / Zedd) +6.1" in page
    assert "Date of birth: missing on the LA's record 0.0" in page
    assert "Address: different \u22123.4" in page
    assert f"UPN: different ({UPN} / {OTHER_UPN})" in page and "two different children" in page
    assert "Score 62.0% is below the automatic match line of 90.0%" in page
    assert "The UPN matches a person, but the date of birth and surname contradict it" in page
    assert "jaro-winkler" not in page and "null" not in page and "demographics" not in page


def test_a_pupil_unlike_anyone_in_the_population_waits_below_the_lowest_score_offered(client, world):
    add_bystander(world.ctx)
    zed = _zed(world)
    page = _text(client, f"/unmatched/{zed['Zed'].id}")
    assert "No one in the LA's population scored 1.0% or more, the lowest score offered for review." in page


def test_where_the_best_score_stands_against_the_match_line_and_the_next_candidate(client, world):
    zed = _zed(world)
    earlier_upn = make_upn("999", "1001", 2015, 6)  # sorts before the pupil's
    persons = [add_person(world.ctx, forename=name, surname="Quill", dob=date(2015, 4, 3), gender="M", upn=upn)
               for name, upn in (("Zedd", earlier_upn), ("Ned", ""))]
    # (score, weight) of the two candidates: the pupil's best is on the line, the contact's leads by 10
    offered = {zed["Zed"].id: [(0.9, 0.0), (0.46, -4.5)], zed["Una"].id: [(0.99, 12.0), (0.3, 2.0)]}
    with session_scope(world.ctx.sessions) as session:
        session.add_all(MatchCandidate(incoming_id=incoming, rank=rank, person_id=person, score=score, weight=weight,
                                       explanation={"comparisons": []})
                        for incoming, scored in offered.items()
                        for rank, (person, (score, weight)) in enumerate(zip(persons, scored), 1))
    page = _text(client, f"/unmatched/{zed['Zed'].id}")
    assert ("Score 90.0% reaches the automatic match line of 90.0%, but the next candidate is only 4.5 points "
            "behind (at least 5 needed), so the choice is left to you.") in page
    assert "Score 46.0%: not the best candidate." in page
    assert f"UPN: different ({UPN} / {earlier_upn})" in page
    assert "Score 99.0% reaches the automatic match line of 90.0%." in page


def test_a_search_by_upn_finds_the_person_holding_that_upn(client, world):
    zed = _zed(world)
    for name, upn in (("Zedd", OTHER_UPN), ("Ned", FORMER_UPN)):
        add_person(world.ctx, forename=name, surname="Quill", dob=date(2015, 4, 3), gender="M", upn=upn)
    page = _text(client, f"/unmatched/{zed['Zed'].id}/search?upn={OTHER_UPN.lower()}")
    assert "Match to Zedd Quill" in page and "Ned" not in page
