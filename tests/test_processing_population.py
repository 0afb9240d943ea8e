"""A worker's in-memory population follows the database between files: new, changed and erased persons."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from b2b_soap.persons import update_person
from b2b_soap.db import IncomingRecord, MatchCandidate, session_scope
from b2b_soap.matching import PopulationIndex
from b2b_soap.operations.privacy import erase_person
from b2b_soap.processing import worker as worker_module
from b2b_soap.processing.population import PERSON_COLUMNS, LivePopulation, age_on, carer_settings, person_record
from b2b_soap.processing.worker import Worker
from b2b_soap.synth import generate_population
from processing_support import add_base, add_bystander, add_person, contact, fresh_upn, pupil, upload_and_process

HOME = dict(address="12 High Street", town="Exampleton", postcode="EX1 2AB")


@pytest.fixture
def base_id(ctx):
    add_bystander(ctx)
    return add_base(ctx)


def outcome(ctx, file_id):
    with session_scope(ctx.sessions) as session:
        record = session.scalar(select(IncomingRecord).where(IncomingRecord.file_id == file_id))
        offered = session.scalars(select(MatchCandidate.person_id).where(MatchCandidate.incoming_id == record.id))
        return record.status, record.person_id, set(offered)


def test_a_person_added_after_the_first_file_is_matched_by_the_next(ctx, base_id):
    upn = fresh_upn()
    first = upload_and_process(ctx, base_id, [pupil("Nia", "Okafor", date(2014, 2, 9), upn=upn, gender="F")])
    assert outcome(ctx, first)[:2] == ("unmatched", None)
    person = add_person(ctx, upn=upn, forename="Nia", surname="Okafor", dob=date(2014, 2, 9), gender="F", **HOME)
    second = upload_and_process(ctx, base_id, [pupil("Nia", "Okafor", date(2014, 2, 9), upn=upn, gender="F")])
    assert outcome(ctx, second)[:2] == ("matched", person)


def test_a_changed_person_is_compared_with_their_new_values(ctx, base_id):
    person = add_person(ctx, forename="Tomasz", surname="Nowak", dob=date(2013, 7, 21), gender="M", **HOME)
    other = add_person(ctx, forename="Ellis", surname="Barrow", dob=date(2012, 1, 30), gender="M",
                       address="4 Mill Road", town="Exampleton", postcode="EX3 5CD")
    first = upload_and_process(ctx, base_id, [pupil("Tomasz", "Nowak", date(2013, 7, 21))])
    assert outcome(ctx, first)[:2] == ("matched", person)
    with session_scope(ctx.sessions) as session:
        update_person(session, "officer", person, {"forename": "Ellis", "surname": "Barrow",
                                                   "dob": "2012-01-31"})
        update_person(session, "officer", other, {"forename": "Tomasz", "surname": "Nowak",
                                                  "dob": "2013-07-21", "address": HOME["address"],
                                                  "postcode": HOME["postcode"]})
    second = upload_and_process(ctx, base_id, [pupil("Tomasz", "Nowak", date(2013, 7, 21))])
    assert outcome(ctx, second)[:2] == ("matched", other)


def test_an_erased_person_is_never_matched_or_offered_again(ctx, base_id):
    upn = fresh_upn()
    person = add_person(ctx, upn=upn, forename="Ida", surname="Lindqvist", dob=date(2015, 11, 2), gender="F", **HOME)
    first = upload_and_process(ctx, base_id, [pupil("Ida", "Lindqvist", date(2015, 11, 2), upn=upn, gender="F")])
    assert outcome(ctx, first)[:2] == ("matched", person)
    with session_scope(ctx.sessions) as session:
        erase_person(session, person, "dpo", force=True)
    second = upload_and_process(ctx, base_id, [pupil("Ida", "Lindqvist", date(2015, 11, 2), upn=upn, gender="F")])
    assert outcome(ctx, second) == ("unmatched", None, set())


def _years_before(day: date, years: int) -> date:
    """The day ``years`` before ``day`` (a 29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def test_a_person_added_after_the_first_file_is_a_carer_from_carer_min_on(ctx, base_id):
    """The population refreshed between files keeps CARER_MIN (16): a person who is 16 today is
    matched as a contact, one who is 16 only tomorrow is neither matched nor offered."""
    first = upload_and_process(ctx, base_id, [pupil("Nia", "Okafor", date(2014, 2, 9), gender="F")])
    assert outcome(ctx, first)[:2] == ("unmatched", None)
    sixteen = _years_before(date.today(), 16)
    grace = add_person(ctx, forename="Grace", surname="Holloway", dob=sixteen, gender="F", **HOME)
    imogen = add_person(ctx, forename="Imogen", surname="Thackeray", dob=sixteen + timedelta(days=1), gender="F",
                        **HOME)
    second = upload_and_process(ctx, base_id, [pupil("Ruby", "Holloway", date(2016, 4, 4), gender="F",
                                                     contacts=[contact("Grace", "Holloway"),
                                                               contact("Imogen", "Thackeray")])])
    with session_scope(ctx.sessions) as session:
        carers = {record.forename: (record.status, record.person_id, set(session.scalars(
                      select(MatchCandidate.person_id).where(MatchCandidate.incoming_id == record.id))))
                  for record in session.scalars(select(IncomingRecord).where(
                      IncomingRecord.file_id == second, IncomingRecord.kind == "contact"))}
    assert carers["Grace"][:2] == ("matched", grace)
    assert carers["Imogen"][0] == "unmatched" and imogen not in carers["Imogen"][2] and carers["Imogen"][1] is None


def test_a_started_worker_builds_the_population_before_any_file(ctx):
    person = add_person(ctx, forename="Esme", surname="Waddington", dob=date(2016, 5, 5), gender="F", **HOME)
    worker = Worker(ctx, poll_seconds=0.1).start()
    try:
        assert worker.ready.wait(30)
        with session_scope(ctx.sessions) as session:
            population = worker.live.get(session, 16, date.today())
        assert population.everyone.ids == [str(person)]
    finally:
        worker.stop()


def test_workers_start_from_the_index_built_before_forking_and_refresh_it(ctx, monkeypatch):
    monkeypatch.setattr(worker_module, "_BUILT_BEFORE_FORK", None)
    monkeypatch.setattr(worker_module, "_SLOTS", None)
    first = add_person(ctx, forename="Esme", surname="Waddington", dob=date(2016, 5, 5), gender="F", **HOME)
    remove_slots = worker_module.build_before_fork(ctx)
    built = worker_module._BUILT_BEFORE_FORK
    later = add_person(ctx, forename="Idris", surname="Pemberton", dob=date(2015, 3, 8), gender="M", **HOME)
    worker = Worker(ctx, poll_seconds=0.1).start()
    try:
        assert worker.ready.wait(30)
        assert worker.live is built
        with session_scope(ctx.sessions) as session:
            population = worker.live.get(session, 16, date.today())
        assert sorted(population.everyone.ids) == sorted([str(first), str(later)])
    finally:
        worker.stop()
        remove_slots()


def test_the_population_read_from_the_database_is_coded_as_its_records_are(ctx):
    persons, _ = generate_population(300, seed=11)
    for number, p in enumerate(persons):
        add_person(ctx, upn=p.upn, forename=p.forename, middle_names=p.middle_names, surname=p.surname,
                   dob=None if number % 17 == 0 else p.dob, gender="" if number % 13 == 0 else p.gender,
                   address=p.address, town=p.town, postcode=p.postcode)
    with session_scope(ctx.sessions) as session:
        population = LivePopulation().get(session, 16, date.today())
        records = [person_record(row) for row in session.execute(select(*PERSON_COLUMNS))]
    probes = [replace(r, id=f"IN{i}", upn="") for i, r in enumerate(records[::7])]

    def proposed(index: PopulationIndex) -> set[tuple[str, str]]:
        left, right = index.candidate_pairs(index.encode(probes))
        return {(probes[i].id, index.ids[j]) for i, j in zip(left.tolist(), right.tolist())}

    assert proposed(population.everyone) == proposed(PopulationIndex(records)) != set()
    assert sorted(population.everyone.ids) == sorted(r.id for r in records)
    carers = [r for r in records if r.dob is None or age_on(r.dob, date.today()) >= 16]
    alone = PopulationIndex(carers, carer_settings(population.everyone.settings))
    assert proposed(population.carers) == proposed(alone) != set()
