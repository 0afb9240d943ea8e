"""Helpers of the processing and review tests: bases, persons, transfer files, uploads."""
from __future__ import annotations

import gzip
import hashlib
import uuid
from datetime import date
from itertools import count

from b2b_soap.db import Base, Group, GroupMember, GroupPermission, Person, User, session_scope, utcnow
from b2b_soap.matching import make_upn
from b2b_soap.processing import run_pending
from b2b_soap.transfer import Bs7666Address, IncomingContact, IncomingPupil
from b2b_soap.files import FileStore, UploadHeader, Uploader
from b2b_soap.transfer.writer import example_header, write_student_file

_serial = count(1)


def fresh_upn(estab: str = "4001") -> str:
    """A valid UPN nobody in the tests holds."""
    return make_upn("999", estab, 20, next(_serial) % 1000)


def add_base(ctx, laestab: str = "9994001") -> int:
    with session_scope(ctx.sessions) as session:
        base = Base(laestab=laestab, name=f"School {laestab}", b2b_enabled=True)
        session.add(base)
        session.flush()
        return base.id


def add_person(ctx, **values) -> int:
    values.setdefault("updated_at", utcnow())
    with session_scope(ctx.sessions) as session:
        person = Person(**values)
        session.add(person)
        session.flush()
        return person.id


def add_bystander(ctx) -> int:
    """An adult unlike anyone in the tests, so that every blocking rule has population keys."""
    return add_person(ctx, upn=fresh_upn("2001"), forename="Bartholomew", surname="Quennell",
                      dob=date(1979, 6, 14), gender="M", address="1 Far Away Road", town="Elsewhere",
                      postcode="ZZ9 9ZZ")


def get_person(ctx, person_id: int) -> Person:
    with session_scope(ctx.sessions) as session:
        person = session.get(Person, person_id)
        session.expunge(person)
        return person


def add_la_user(ctx, username: str = "officer", levels: dict[str, str] | None = None) -> User:
    """An LA user whose group has the given levels (default: Read-Write on every LA process)."""
    from b2b_soap.security import LA_PROCESSES, hash_password
    levels = levels if levels is not None else {p: "Read-Write" for p in LA_PROCESSES}
    with session_scope(ctx.sessions) as session:
        user = User(username=username, password_hash=hash_password("correct horse battery"), kind="la")
        group = Group(name=f"{username}-group")
        session.add_all([user, group])
        session.flush()
        session.add(GroupMember(group_id=group.id, user_id=user.id))
        session.add_all(GroupPermission(group_id=group.id, process=p, level=lv) for p, lv in levels.items())
        session.flush()
        session.expunge(user)
        return user


def address(paon: str = "12", street: str = "High Street", town: str = "Exampleton",
            postcode: str = "EX1 2AB") -> Bs7666Address:
    return Bs7666Address(paon=paon, street=street, town=town, postcode=postcode)


def contact(forename: str, surname: str, *, guid: str | None = None, relationship: str = "PAM",
            responsibility: bool = True, priority: int = 1, gender: str = "F",
            home: Bs7666Address | None = None) -> IncomingContact:
    home = home or address()
    return IncomingContact(sims_guid=guid or str(uuid.uuid4()), forename=forename, surname=surname,
                           relationship=relationship, parental_responsibility=responsibility,
                           priority=priority, gender=gender, address=home.line, town=home.town,
                           postcode=home.postcode, address_detail=home)


def pupil(forename: str, surname: str, dob: date, *, upn: str | None = None, guid: str | None = None,
          gender: str = "M", ncy: str = "5", home: Bs7666Address | None = None, middle_names: str | None = None,
          contacts: list[IncomingContact] | None = None) -> IncomingPupil:
    home = home or address()
    return IncomingPupil(sims_guid=guid or str(uuid.uuid4()), upn=upn or fresh_upn(), surname=surname,
                         forename=forename, dob=dob, ncy=ncy, enrol_status="C", entry_date=date(2024, 9, 2),
                         middle_names=middle_names, gender=gender, address=home.line, town=home.town,
                         postcode=home.postcode, address_detail=home, contacts=list(contacts or []))


def transfer_bytes(pupils: list[IncomingPupil], laestab: str = "9994001") -> bytes:
    return write_student_file(example_header(source_laestab=laestab), pupils)


def upload(ctx, base_id: int, pupils: list[IncomingPupil], laestab: str = "9994001") -> str:
    """Store a Student file as a school's upload would; returns the file id."""
    data = transfer_bytes(pupils, laestab)
    packed = gzip.compress(data)
    header = UploadHeader(file_guid=str(uuid.uuid4()), data_type="Student", file_name="pupils.xml",
                          total_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), compression="Gzip")
    receipt = FileStore(ctx).upload(Uploader(None, base_id, laestab), header, packed)
    assert receipt.status == "Received", receipt
    return receipt.file_id


def upload_and_process(ctx, base_id: int, pupils: list[IncomingPupil], laestab: str = "9994001") -> str:
    file_id = upload(ctx, base_id, pupils, laestab)
    results = run_pending(ctx)
    assert [r.status for r in results] == ["Processed"], results
    return file_id


def add_surname_conflicts(ctx, base_id: int, laestab: str = "9994001") -> dict[str, int]:
    """Three persons, then a processed file whose pupils are them with a double-barrelled
    surname: one open surname conflict each. Returns forename -> person id."""
    names = [("Leo", "Baker", date(2012, 4, 12)), ("Mia", "Carter", date(2011, 2, 3)),
             ("Zoe", "Hill", date(2013, 9, 21))]
    persons = {forename: add_person(ctx, forename=forename, surname=surname, dob=dob, gender="F",
                                    address="12 High Street", town="Exampleton", postcode="EX1 2AB")
               for forename, surname, dob in names}
    upload(ctx, base_id, [pupil(f, f"{s}-Ward", d, gender="F") for f, s, d in names], laestab)
    assert [r.conflicts for r in run_pending(ctx)] == [3]
    return persons
