"""Working through the review lists over HTTP: whole-filter actions confirmed and done in full, strict
filters, bulk decisions on ticked rows, sort and search, and the list kept across decisions."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, insert, select

from b2b_soap.db import AuditEntry, Conflict, IncomingRecord, Person, session_scope
from test_web_pages import _text, client, world  # noqa: F401 (fixtures)
from test_web_support import csrf_of, post_form

MANY = 6000


def _form_action(html: str, path: str) -> str:
    """The address a page's form posts to (with the list it carries), as a browser would read it."""
    found = re.search(f'action="({re.escape(path)}[^"]*)"', html)
    assert found, f"no form posting to {path}"
    return found.group(1).replace("&amp;", "&")


def _day_boxes(name: str, day: date) -> str:
    """The query string of a GOV.UK date input's day, month and year boxes."""
    return f"{name}-day={day.day}&{name}-month={day.month}&{name}-year={day.year}"


def _audited(world, action: str) -> int:
    with world.ctx.sessions() as s:
        return s.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action))


def add_conflicts(world, count: int, laestab: str = "9992002") -> None:
    """``count`` open surname conflicts at one base, one person each."""
    base_id = world.base_ids[laestab]
    with session_scope(world.ctx.sessions) as s:
        s.execute(insert(Person), [{"forename": f"P{i}", "surname": f"Old{i}", "upn": "", "postcode": ""}
                                   for i in range(count)])
        people = s.scalars(select(Person.id).where(Person.forename.like("P%")).order_by(Person.id)).all()
        now = datetime.now().replace(microsecond=0)
        s.execute(insert(Conflict), [{"person_id": pid, "field": "surname", "la_value": f"Old{i}",
                                      "incoming_value": f"New{i}", "base_id": base_id, "status": "open",
                                      "created_at": now} for i, pid in enumerate(people)])


def test_all_conflicts_of_a_filter_are_confirmed_then_resolved_in_full(client, world):
    add_conflicts(world, MANY)
    listing = _text(client, "/conflicts/?base=9992002")
    assert f"All {MANY} conflicts this filter shows" in listing
    response = post_form(client, "/conflicts/?base=9992002", "/conflicts/bulk?list=base%3D9992002",
                         {"action": "take", "scope": "filter", "base": "9992002", "field": "", "person": ""})
    confirm_url = response.headers["Location"]
    confirm = _text(client, confirm_url)
    assert f'id="confirm-count">{MANY}<' in confirm and "base 9992002" in confirm
    assert f"Take incoming for all {MANY}" in confirm
    response = client.post(_form_action(confirm, "/conflicts/resolve-all"), data={
        "csrf_token": csrf_of(confirm), "action": "take", "base": "9992002", "field": "", "person": "",
        "expected": str(MANY)})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    assert f"resolved={MANY}" in response.headers["Location"] and "base=9992002" in response.headers["Location"]
    with world.ctx.sessions() as s:
        assert s.scalar(select(func.count(Conflict.id)).where(Conflict.status == "taken")) == MANY
        assert s.scalar(select(func.count(Person.id)).where(Person.surname.like("New%"))) == MANY
        assert s.scalar(select(func.count(Conflict.id)).where(Conflict.status == "open")) == 4  # the seeded ones
    assert _audited(world, "conflict.resolve") == MANY and _audited(world, "person.update") == MANY
    assert _audited(world, "conflict.resolve_filter") == 1
    assert f"{MANY} conflicts resolved: took the incoming value" in _text(client, response.headers["Location"])


def test_a_confirmed_count_that_no_longer_holds_resolves_nothing(client, world):
    confirm = _text(client, "/conflicts/confirm?do=keep&base=9991001")
    assert 'id="confirm-count">4<' in confirm
    response = post_form(client, "/conflicts/confirm?do=keep&base=9991001", "/conflicts/resolve-all",
                         {"action": "keep", "base": "9991001", "expected": "5"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "Nothing was resolved" in page and "not the 5 you confirmed" in page
    with world.ctx.sessions() as s:
        assert s.scalar(select(func.count(Conflict.id)).where(Conflict.status == "open")) == 4
    assert _audited(world, "conflict.resolve") == 0


def test_a_filter_that_cannot_be_read_is_an_error_not_everything(client, world):
    for query, message in (("person=abc", "Person number must be a whole number"),
                           ("base=123", "Base: there is no"), ("field=shoe", "Field: there is no")):
        page = _text(client, f"/conflicts/?{query}", 400)
        assert "There is a problem" in page and message in page, query
        assert "this filter shows" not in page and "Jones, Ben" not in page
    # a hand-made confirmation address with a bad filter goes back to the list's error
    response = client.get("/conflicts/confirm?do=take&person=abc")
    assert response.status_code == 302 and "person=abc" in response.headers["Location"]
    for query, message in (("min_age=ten", "Youngest age must be a whole number"), ("ncy=Z", "Year group"),
                           ("received_from-day=31&received_from-month=2&received_from-year=2026", "must be a real date"),
                           ("sort=shoe", "Sort")):
        page = _text(client, f"/unmatched/?{query}", 400)
        assert message in page and "Smith, Amy" not in page, query


def test_bulk_with_nothing_ticked_is_a_form_error(client, world):
    response = post_form(client, "/conflicts/", "/conflicts/bulk", {"action": "take", "scope": "selected"})
    assert response.status_code == 302
    page = _text(client, response.headers["Location"])
    assert "Select at least one conflict" in page and 'href="#scope-selected"' in page and "Jones, Ben" in page
    response = post_form(client, "/unmatched/", "/unmatched/bulk", {"action": "rejected", "reason": "test"})
    assert "Select at least one pupil" in _text(client, response.headers["Location"])
    response = post_form(client, "/unmatched/", "/unmatched/bulk", {"action": "rejected", "record": [world.ids["reject"]]})
    assert "Enter why the selected pupils are rejected" in _text(client, response.headers["Location"])
    with world.ctx.sessions() as s:
        assert s.get(IncomingRecord, world.ids["reject"]).status == "unmatched"


def test_bulk_reject_and_create_for_ticked_pupils(client, world):
    ids = world.ids
    response = post_form(client, "/unmatched/", "/unmatched/bulk",
                         {"action": "rejected", "reason": "test records", "record": [ids["reject"], ids["searcher"]]})
    assert "2 records rejected" in _text(client, response.headers["Location"])
    response = post_form(client, "/unmatched/", "/unmatched/bulk", {"action": "created", "record": [ids["newbie"]]})
    assert "1 new people created" in _text(client, response.headers["Location"])
    with world.ctx.sessions() as s:
        rejected = [s.get(IncomingRecord, ids[k]) for k in ("reject", "searcher")]
        assert [(r.status, r.reason, r.decided_by) for r in rejected] == [("rejected", "test records", "reviewer")] * 2
        newbie = s.get(IncomingRecord, ids["newbie"])
        assert newbie.decision == "new" and s.get(Person, newbie.person_id).surname == "Newcomer"
    assert _audited(world, "review.reject") == 2 and _audited(world, "person.create") == 1
    assert _audited(world, "review.new") == 1


def test_sort_and_search(client, world):
    by_name = _text(client, "/unmatched/?sort=name")
    assert by_name.index("Jones, Benji") < by_name.index("Newcomer, Zara") < by_name.index("Smith, Amy")
    youngest = _text(client, "/unmatched/?sort=age")
    assert youngest.index("Newcomer, Zara") < youngest.index("Smith, Amy")
    found = _text(client, "/unmatched/?q=smi")
    assert "Smith, Amy" in found and "Newcomer, Zara" not in found
    assert "Jones, Benji" in _text(client, "/unmatched/?q=benji+jon")
    by_day = _text(client, "/unmatched/?q=02/02/2016")
    assert "Newcomer, Zara" in by_day and "Smith, Amy" not in by_day
    with session_scope(world.ctx.sessions) as s:
        s.get(IncomingRecord, world.ids["amy"]).upn = "A123456789012"
    by_upn = _text(client, "/unmatched/?q=a123456789012")
    assert "Smith, Amy" in by_upn and "Newcomer, Zara" not in by_upn
    today = date.today()
    boxes = f"received_from-day={today.day}&received_from-month={today.month}&received_from-year={today.year}"
    assert "No unmatched pupils match" in _text(client, f"/unmatched/?{boxes}")
    earlier = today - timedelta(days=3)
    boxes = f"received_from-day={earlier.day}&received_from-month={earlier.month}&received_from-year={earlier.year}"
    assert "Smith, Amy" in _text(client, f"/unmatched/?{boxes}")
    with session_scope(world.ctx.sessions) as s:
        received = s.get(IncomingRecord, world.ids["amy"]).received_at
        s.get(IncomingRecord, world.ids["newbie"]).received_at = received - timedelta(days=2)
    on_the_day = _text(client, f"/unmatched/?{_day_boxes('received_to', received.date())}")
    assert "Smith, Amy" in on_the_day and "Newcomer, Zara" in on_the_day  # the "to" day is included
    day_before = _text(client, f"/unmatched/?{_day_boxes('received_to', received.date() - timedelta(days=1))}")
    assert "Newcomer, Zara" in day_before and "Smith, Amy" not in day_before


def test_the_list_is_kept_across_a_decision(client, world):
    ids = world.ids
    listing = _text(client, "/unmatched/?sort=name&candidates=no")
    record_link = f'/unmatched/{ids["searcher"]}?list='
    assert record_link in listing
    href = listing[listing.index(record_link):].split('"')[0].replace("&amp;", "&")
    record = _text(client, href)
    assert 'href="/unmatched/?' in record and "candidates=no" in record and "sort=name" in record
    response = post_form(client, href, f"/unmatched/{ids['searcher']}/reject?{urlsplit(href).query}",
                         {"reason": "duplicate"})
    target = parse_qs(urlsplit(response.headers["Location"]).query)
    assert target["sort"] == ["name"] and target["candidates"] == ["no"] and target["done"] == ["rejected"]
    page = _text(client, response.headers["Location"])
    assert "The record has been rejected" in page and "Next: Zara Newcomer" in page  # next by name


def test_conflicts_list_kept_from_person_page(client, world):
    listing = _text(client, "/conflicts/?field=surname")
    person = f"/conflicts/person/{world.ids['ben_person']}?list=field%3Dsurname"
    assert person in listing
    page = _text(client, person)
    assert 'href="/conflicts/?field=surname"' in page


def test_home_counts_waiting_work(client, world):
    page = _text(client, "/")
    assert 'id="waiting-1">4<' in page and "Unmatched pupils" in page  # B2B_S_AGE leaves none out here
    assert 'id="waiting-2">4<' in page and 'id="waiting-3">1<' in page
    assert "/unmatched/?sort=oldest" in page


def test_population_search_takes_a_date_in_day_month_year_boxes(client, world):
    search = f"/unmatched/{world.ids['searcher']}/search"
    found = _text(client, f"{search}?dob-day=2&dob-month=6&dob-year=2014")
    assert "Jones, Ben" in found and 'id="dob-day" name="dob-day" type="text" inputmode="numeric" value="2"' in found
    refused = _text(client, f"{search}?dob-day=31&dob-month=2&dob-year=2014")
    assert "Date of birth must be a real date" in refused and 'href="#dob-day"' in refused and "Jones, Ben" not in refused
    assert "Jones, Ben" not in _text(client, f"{search}?dob-day=3&dob-month=6&dob-year=2014")
    record = _text(client, f"/unmatched/{world.ids['searcher']}")  # the record's own date fills the boxes
    assert "dob-day=" in record and "dob-year=" in record
    assert "Jones, Benji" in _text(client, "/unmatched/?q=2/6/2014")  # one search box still takes a typed date
