"""Shared set-up for the web tests: a licensed LA with bases, users and groups, and a signed-in client.

No tests here; ``test_web_*.py`` modules import these helpers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from b2b_soap.setup import bases, groups
from b2b_soap.defaults import seed_defaults
from b2b_soap.licensing import install_licence
from b2b_soap.config import settings_from_dict
from b2b_soap.context import AppContext
from b2b_soap.db import User, session_scope
from b2b_soap.licensing import B2B_STUDENT, generate_keypair, issue_licence, load_private_key
from b2b_soap.security import ADMINISTRATION, CONFLICTS, REPORTS, UNMATCHED, hash_password
from b2b_soap.transfer.crypto import create_key_file

PASSWORD = "correct horse battery"
ALL_LA = (UNMATCHED, CONFLICTS, REPORTS, ADMINISTRATION)


@lru_cache(maxsize=1)
def _password_hash() -> str:
    """One scrypt hash for every test user: hashing is slow by design, and tests make many users."""
    return hash_password(PASSWORD)


@dataclass
class World:
    ctx: AppContext
    private_key_path: object
    base_ids: dict[str, int]


def make_context(tmp_path, database_url: str, licensed: bool = True) -> World:
    """A context whose licence public key is a fresh test key; with ``licensed``, a licence installed."""
    key_path = tmp_path / "vendor.pem"
    public = generate_keypair(key_path)
    settings = settings_from_dict({"data_dir": str(tmp_path / "data"), "database": {"url": database_url},
                                   "licence": {"public_key": public}}, environ={})
    create_key_file(settings.key_path)
    ctx = AppContext(settings)
    with session_scope(ctx.sessions) as s:
        seed_defaults(s, settings)
        if licensed:
            key = issue_licence(load_private_key(key_path), "999", [B2B_STUDENT], date.today() + timedelta(days=365))
            install_licence(s, settings, "test", key)
        base_ids = {laestab: bases.add_base(s, "test", laestab, name, b2b_enabled=True).id
                    for laestab, name in (("9991001", "Oak Primary"), ("9992002", "Elm Academy"))}
        add_la_user(s, ctx, "reviewer", ALL_LA)
        add_la_user(s, ctx, "reader", (UNMATCHED,), level="Read")
        add_la_user(s, ctx, "nobody", ())
        s.add(User(username="school1", password_hash=_password_hash(), kind="school", base_id=base_ids["9991001"]))
    return World(ctx, key_path, base_ids)


def add_la_user(s, ctx: AppContext, username: str, processes, level: str = "Read-Write") -> None:
    s.add(User(username=username, password_hash=_password_hash(), kind="la", full_name=username.title()))
    s.flush()
    group = f"{username}-group"
    groups.add_group(s, "test", group)
    for process in processes:
        groups.grant(s, "test", group, process, level)
    groups.add_member(s, "test", group, username)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def sign_in(client, username: str = "reviewer", password: str = PASSWORD):
    page = client.get("/sign-in")
    return client.post("/sign-in", data={"username": username, "password": password,
                                         "csrf_token": csrf_of(page.get_data(as_text=True))})


def post_form(client, page_url: str, action_url: str, data: dict):
    """POST ``data`` to ``action_url`` with the CSRF token read from ``page_url``, as a browser would."""
    token = csrf_of(client.get(page_url).get_data(as_text=True))
    return client.post(action_url, data={**data, "csrf_token": token})


def _explanation(*bits: tuple[str, str, float]) -> dict:
    return {"probability": 0.5, "match_weight": sum(b for _, _, b in bits), "prior_bits": -10.0, "upn_match": False,
            "comparisons": [{"name": name, "level": level, "bits": b} for name, level, b in bits]}


def seed_review(ctx: AppContext, base_ids: dict[str, int]) -> dict[str, int | str]:
    """A small review workload: unmatched pupils (with and without candidates, one with a carer),
    matched pupils with open conflicts, processed, rejected and failed files over several days."""
    import uuid
    from datetime import datetime

    from b2b_soap.db import Conflict, IncomingRecord, MatchCandidate, Person, VirtualFile
    oak, elm = base_ids["9991001"], base_ids["9992002"]
    now = datetime.now().replace(microsecond=0)
    ids: dict[str, int | str] = {}
    with session_scope(ctx.sessions) as s:
        people = {key: Person(forename=f, surname=sn, dob=dob, gender=gen, postcode=pc, address=addr, upn="")
                  for key, f, sn, dob, gen, pc, addr in (
                      ("amy", "Amy", "Smith", date(2015, 3, 1), "F", "ZZ9 9AA", "1 Oak Lane"),
                      ("amie", "Aimee", "Smyth", date(2015, 3, 11), "F", "ZZ9 9AB", "3 Ash Row"),
                      ("ben", "Ben", "Jones", date(2014, 6, 2), "M", "ZZ9 9AC", "5 Elm Road"),
                      ("cat", "Cat", "Brown", date(2013, 1, 9), "F", "ZZ9 9AD", "7 Yew Street"),
                      ("carol", "Carol", "Smith", date(1985, 5, 5), "F", "ZZ9 9AA", "1 Oak Lane"))}
        s.add_all(people.values())
        files = []
        for days_ago, base_id, status in ((6, oak, "Processed"), (4, elm, "Processed"), (3, oak, "Rejected"),
                                          (2, elm, "Failed"), (1, oak, "Processed")):
            vf = VirtualFile(id=str(uuid.uuid4()), file_guid=str(uuid.uuid4()), base_id=base_id, data_type="Student",
                             file_name=f"students-{days_ago}.xml", total_bytes=1000, sha256="0" * 64, status=status,
                             received_at=now - timedelta(days=days_ago), pupil_count=3, matched_count=1,
                             unmatched_count=2, errors=[{"line": 12, "column": 4, "message": "UPN is too long"}]
                             if status == "Rejected" else None, failure="database was busy" if status == "Failed" else "")
            s.add(vf)
            files.append(vf)
        s.flush()
        ids["failed_file"] = files[3].id
        latest = files[-1]

        def pupil(seq: int, forename: str, surname: str, dob: date, **extra) -> IncomingRecord:
            record = IncomingRecord(file_id=latest.id, base_id=oak, seq=seq, kind="pupil", forename=forename,
                                    surname=surname, dob=dob, gender="F", ncy="5", postcode="ZZ9 9AA",
                                    address="1 Oak Lane", sims_guid=str(uuid.uuid4()), received_at=latest.received_at,
                                    **extra)
            s.add(record)
            s.flush()
            return record
        amy = pupil(1, "Amy", "Smith", date(2015, 3, 1), status="unmatched", decision="possible", has_candidates=True,
                    reason="two possible matches")
        for rank, (person, bits) in enumerate(((people["amy"], 9.5), (people["amie"], 2.0)), 1):
            s.add(MatchCandidate(incoming_id=amy.id, rank=rank, person_id=person.id, score=0.85 / rank, weight=bits,
                                 explanation=_explanation(("forename", "exact", bits / 2), ("dob", "exact", bits / 2))))
        carer = IncomingRecord(file_id=latest.id, base_id=oak, seq=2, kind="contact", pupil_id=amy.id,
                               forename="Carol", surname="Smith", status="unmatched", decision="possible",
                               has_candidates=True, postcode="ZZ9 9AA", received_at=latest.received_at)
        s.add(carer)
        s.flush()
        s.add(MatchCandidate(incoming_id=carer.id, rank=1, person_id=people["carol"].id, score=0.8, weight=7.0,
                             explanation=_explanation(("surname", "exact", 7.0))))
        newbie = pupil(3, "Zara", "Newcomer", date(2016, 2, 2), status="unmatched", decision="none",
                       reason="no candidate")
        reject = pupil(4, "Test", "Record", date(2016, 1, 1), status="unmatched", decision="none",
                       reason="no candidate")
        searcher = pupil(7, "Benji", "Jones", date(2014, 6, 2), status="unmatched", decision="none",
                         reason="no candidate")
        ben = pupil(5, "Ben", "Jonas", date(2014, 6, 2), status="matched", decision="auto",
                    person_id=people["ben"].id)
        cat = pupil(6, "Cat", "Browne", date(2013, 1, 9), status="matched", decision="auto",
                    person_id=people["cat"].id)
        for person, record, field, la, incoming in (
                (people["ben"], ben, "surname", "Jones", "Jonas"), (people["ben"], ben, "postcode", "ZZ9 9AC", "ZZ9 9AA"),
                (people["cat"], cat, "surname", "Brown", "Browne"), (people["cat"], cat, "address", "7 Yew Street", "9 Yew Street")):
            s.add(Conflict(person_id=person.id, field=field, la_value=la, incoming_value=incoming, incoming_id=record.id,
                           file_id=latest.id, base_id=oak, created_at=latest.received_at))
        ids.update(amy=amy.id, carer=carer.id, newbie=newbie.id, reject=reject.id, searcher=searcher.id, amy_person=people["amy"].id,
                   ben_person=people["ben"].id, cat_person=people["cat"].id)
    return ids
