"""The synthetic population in a database, and pupils for benchmark transfer files drawn from it
(shared by the benches).

Nine in ten pupils are children of the population, a few changed (forename typo, moved house,
new surname), with up to two carers as contacts; one in ten is not in the population.
"""
from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from b2b_soap.db import CarerLink, Person, bulk_insert, utcnow
from matching_noise import temporary_upn

from b2b_soap.transfer.models import Bs7666Address, IncomingContact, IncomingPupil
from b2b_soap.transfer.writer import make_example_pupils

__all__ = ["PupilMaker", "load_population", "hard_pupils"]

# The pupils not in the population come from another random stream: one seeded like the
# known pupils' would repeat their GUIDs, and a file with a GUID twice is rejected.
NEW_PUPILS_SEED = 1_000_003


def load_population(session: Session, persons, links) -> None:
    """Persons numbered 1.. in list order and their carer links, loaded a day ago (as an LA's population
    is). On PostgreSQL by COPY, with the two tables' secondary indexes and foreign keys made after the
    rows are in (one sort per index and one check per key instead of one per row)."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        _insert_population(conn, persons, links)
        return
    tables = [Person.__tablename__, CarerLink.__tablename__]
    indexes = conn.execute(text(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid::regclass::text = ANY(:t) AND NOT i.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"), {"t": tables}).all()
    keys = conn.execute(text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid::regclass::text = ANY(:t)"), {"t": tables}).all()
    for table, name, _definition in keys:
        conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _definition in indexes:
        conn.execute(text(f"DROP INDEX {name}"))
    _insert_population(conn, persons, links)
    for _name, definition in indexes:
        conn.execute(text(definition))
    for table, name, definition in keys:
        conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('persons', 'id'), {len(persons) + 1})"))


def _insert_population(conn, persons, links, batch: int = 100_000) -> None:
    now = utcnow() - timedelta(days=1)
    number = {p.id: i for i, p in enumerate(persons, start=1)}
    for start in range(0, len(persons), batch):
        bulk_insert(conn, Person.__table__, [
            {"id": i, "external_id": p.id, "upn": p.upn, "forename": p.forename, "middle_names": p.middle_names,
             "surname": p.surname, "preferred_surname": p.preferred_surname, "dob": p.dob, "gender": p.gender,
             "address": p.address, "address_lines": "", "town": p.town, "postcode": p.postcode, "uprn": p.uprn,
             "phone": p.phone, "email": p.email, "created_at": now, "updated_at": now}
            for i, p in enumerate(persons[start:start + batch], start=start + 1)])
    for start in range(0, len(links), batch):
        bulk_insert(conn, CarerLink.__table__, [
            {"child_id": number[link.child_id], "carer_id": number[link.carer_id], "relationship": link.relationship,
             "parental_responsibility": link.parental_responsibility, "priority": link.priority, "updated_at": now}
            for link in links[start:start + batch]])


def _home(person) -> Bs7666Address:
    return Bs7666Address(paon=person.address, town=person.town, postcode=person.postcode)


class PupilMaker:
    def __init__(self, persons, links) -> None:
        self.by_id = {p.id: p for p in persons}
        self.carers: dict[str, list] = {}
        for link in links:
            self.carers.setdefault(link.child_id, []).append(link)
        today = date.today()
        self.children = [p for p in persons if p.is_child and 5 <= (today - p.dob).days // 365 <= 16]

    def _contacts(self, child, rng: random.Random) -> list[IncomingContact]:
        return [IncomingContact(sims_guid=str(uuid.UUID(int=rng.getrandbits(128))), forename=c.forename,
                                surname=c.surname, relationship="PAM" if c.gender == "F" else "PAF",
                                parental_responsibility=link.parental_responsibility, priority=link.priority,
                                gender=c.gender, address=c.address, town=c.town, postcode=c.postcode,
                                address_detail=_home(c))
                for link in self.carers.get(child.id, [])[:2] for c in [self.by_id[link.carer_id]]]

    def from_row(self, row: dict[str, str], person_id: str, rng: random.Random) -> IncomingPupil:
        """A pupil as ``bench/gen_matching_benchmark.py`` made it (``person_id`` empty when not in the
        population), with the carers of the person it stands for as contacts.

        A school's file always carries a UPN, a forename and a date of birth: a missing UPN is sent
        as a temporary one of a school the population never uses (as a school allocates one), a
        missing forename as its initial, a missing date as the true one.
        """
        person = self.by_id.get(person_id)
        home = Bs7666Address(paon=row["address"], town=row["town"], postcode=row["postcode"])
        contacts = self._contacts(person, rng) if person else []
        upn = row["upn"] or temporary_upn(rng, f"A9996{rng.randrange(1000):03d}000000")
        forename = row["forename"] or (person.forename[0] if person else "A")
        dob = date.fromisoformat(row["dob"]) if row["dob"] else person.dob
        return IncomingPupil(sims_guid=str(uuid.UUID(int=rng.getrandbits(128))), upn=upn,
                             surname=row["surname"], forename=forename, dob=dob, ncy="5", enrol_status="C",
                             entry_date=date(2024, 9, 2), gender=row["gender"], address=home.paon, town=home.town,
                             postcode=home.postcode, address_detail=home, contacts=contacts)

    def pupils(self, count: int, seed: int, estab: str) -> list[IncomingPupil]:
        """``count`` pupils in random order, the same for the same seed."""
        rng = random.Random(seed)
        chosen = rng.sample(self.children, min(len(self.children), int(count * 0.9)))
        pupils = []
        for child in chosen:
            forename, surname, home = child.forename, child.surname, _home(child)
            roll = rng.random()
            if roll < 0.04:
                forename = forename[:-1] + ("a" if forename[-1] != "a" else "e")
            elif roll < 0.07:
                home = Bs7666Address(paon="3 Mill Lane", town="Northbridge", postcode="NB3 9QT")
            elif roll < 0.09:
                surname = rng.choice(("Robinson", "Ahmed", "Kowalski"))
            contacts = self._contacts(child, rng)
            pupils.append(IncomingPupil(sims_guid=str(uuid.UUID(int=rng.getrandbits(128))), upn=child.upn,
                                        surname=surname, forename=forename, dob=child.dob, ncy="5",
                                        enrol_status="C", entry_date=date(2024, 9, 2), gender=child.gender,
                                        address=home.paon, town=home.town, postcode=home.postcode,
                                        address_detail=home, contacts=contacts))
        pupils += make_example_pupils(count - len(pupils), NEW_PUPILS_SEED + seed,
                                      estab=estab)
        rng.shuffle(pupils)
        return pupils


def hard_pupils(maker: PupilMaker, persons, count: int, seed: int) -> list[tuple[IncomingPupil, str]]:
    """``count`` pupils drawn as ``gen_matching_benchmark.py --mode hard`` draws them (missing and
    temporary UPNs, typos, nicknames, moves to varied addresses, look-alikes, new pupils), in random
    order, each with the population id it stands for (empty when none)."""
    from gen_matching_benchmark import make_hard_incoming
    rows, truth, _applied = make_hard_incoming(persons, count, seed)
    rng = random.Random(seed)
    rng.shuffle(rows)
    return [(maker.from_row(row, truth[row["id"]], rng), truth[row["id"]]) for row in rows]
