"""A week of an LA's life, compressed into under a minute, on PostgreSQL with ``serve --workers 2``.

Three bases upload a Student file every night for seven nights over SOAP: the same pupils
each night plus churn (a joiner and a leaver a night, a pupil who moves house or changes
surname, some moving twice, a few pupils the LA does not hold). After the third night an LA
officer decides some unmatched pupils with ``b2b-soap review create|reject|match``, the match on
an older, superseded copy of the pupil. One night one base sends a file that breaks the XSD. Two
maintenance jobs, added with ``b2b-soap jobs add`` while the server runs, fire every
``EVERY`` seconds all week: Clear Conflicts and the unmatched-waiting alert.

After every night and after the week: the Unmatched list holds exactly one item per undecided
pupil (per base and SIMS GUID), and one per contact (the LA holds no carers). After the week:
the decided pupils were not queued again, no person has two open conflicts on one field, each
job fire ran once (spaced by the interval, by both processes), and the alert log holds the
rejected file and the pupils still waiting, per base.
"""
from __future__ import annotations

import dataclasses
import json
import random
import uuid
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import select

from b2b_soap.alerts import FILE_REJECTED, UNMATCHED_WAITING
from b2b_soap.cli import main
from b2b_soap.db import Base, IncomingRecord, JobRun, session_scope, utcnow
from b2b_soap.matching import make_upn
from b2b_soap.synth._names import BOYS, GIRLS, STREET_TYPES, STREETS, SURNAMES
from b2b_soap.transfer import IncomingPupil
from processing_support import add_bystander, add_person, address, contact, pupil, transfer_bytes
from server import running_server, wait_for, zeep_client
from service_setup import PASSWORD, ServiceEnv, file_header

pytestmark = pytest.mark.postgres

SEED = 14
BASES = ("9994101", "9994102", "9994103")
PUPILS, NIGHTS = 20, 7  # pupils per base on the first night
NOT_HELD = 3  # per base on the first night, and one more the LA holds under an old name and address
DECISIONS_AFTER = 3
BAD_NIGHT, BAD_BASE = 5, BASES[1]
EVERY = 2  # seconds between fires of each job
JOBS = {"week-clear-conflicts": ["clear_conflicts"],
        "week-unmatched-waiting": ["unmatched_waiting", "--arg", "older_than_hours=0"]}
TOWNS = ("Exampleton", "Demoby", "Testbury", "Sampleford")

Key = tuple[str, str]  # base, SIMS GUID


class Week:
    """The schools' rolls, the LA's persons, and what the LA should see, all from one seeded generator."""

    def __init__(self, ctx, rng: random.Random) -> None:
        self.ctx, self.rng, self.serial = ctx, rng, count(1)
        self.surnames = rng.sample(SURNAMES, len(SURNAMES))
        self.held: dict[str, int] = {}  # GUID -> the person the LA holds for it
        self.old_record: dict[Key, int] = {}  # the LA holds the child under an old name and address
        self.waiting: set[Key] = set()  # not held, sent in an accepted file, not decided
        self.carers: set[Key] = set()  # sent in an accepted file
        self.decided: dict[Key, str] = {}
        self.changes: dict[str, list[str]] = defaultdict(list)  # GUID -> fields changed, in order
        self.roll: dict[str, dict[str, IncomingPupil]] = {}
        for laestab in BASES:
            kinds = ["held"] * (PUPILS - NOT_HELD - 1) + ["not held"] * NOT_HELD + ["old record"]
            rng.shuffle(kinds)
            self.roll[laestab] = {p.sims_guid: p for p in (self._join(laestab, kind) for kind in kinds)}

    def _guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _home(self):
        rng = self.rng
        return address(str(rng.randint(1, 240)), f"{rng.choice(STREETS)} {rng.choice(STREET_TYPES)}",
                       rng.choice(TOWNS), f"DM{rng.randint(1, 9)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJ')}"
                                          f"{rng.choice('LNPQRSTU')}")

    def _join(self, laestab: str, kind: str) -> IncomingPupil:
        rng = self.rng
        gender = rng.choice("MF")
        home, surname = self._home(), self.surnames.pop()
        carers = ([contact(rng.choice(GIRLS), surname, guid=self._guid(), home=home)]
                  if rng.random() < 0.5 else [])
        child = pupil(rng.choice(GIRLS if gender == "F" else BOYS), surname,
                      date(2011, 9, 1) + timedelta(days=rng.randint(0, 6 * 365)), gender=gender, home=home,
                      guid=self._guid(), upn=make_upn("999", laestab[3:], 2020, next(self.serial)),
                      contacts=carers)
        if kind == "held":
            self.held[child.sims_guid] = add_person(
                self.ctx, upn=child.upn, forename=child.forename, surname=child.surname, dob=child.dob,
                gender=gender, address=home.line, town=home.town, postcode=home.postcode)
        elif kind == "old record":
            # another surname, address and date of birth: a candidate at most, decided by the officer
            old, born = self._home(), child.dob + timedelta(days=1)
            self.old_record[(laestab, child.sims_guid)] = add_person(
                self.ctx, forename=child.forename, surname=self.surnames.pop(), dob=born, gender=gender,
                address=old.line, town=old.town, postcode=old.postcode)
        return child

    def churn(self, laestab: str) -> None:
        """One night's changes at a school: a leaver, a joiner, and a move or a change of surname."""
        rng, roll = self.rng, self.roll[laestab]
        staying = self.decided.keys() | self.old_record.keys()
        leaver = rng.choice(sorted(g for g in roll if (laestab, g) not in staying))
        del roll[leaver]
        joiner = self._join(laestab, rng.choice(("held", "not held")))
        roll[joiner.sims_guid] = joiner
        held = sorted(g for g in roll if g in self.held)
        again = [g for g in held if g in self.changes]
        guid = rng.choice(again if again and rng.random() < 0.5 else held)
        changed = self._change(roll[guid], rng.choice(("address", "surname")))
        roll[guid] = changed[1]
        self.changes[guid].append(changed[0])

    def _change(self, child: IncomingPupil, field: str) -> tuple[str, IncomingPupil]:
        if field == "surname":
            return "surname", dataclasses.replace(child, surname=f"{child.surname}-{self.surnames.pop()}")
        home = self._home()
        return "address", dataclasses.replace(child, address=home.line, town=home.town,
                                              postcode=home.postcode, address_detail=home)

    def file(self, laestab: str) -> bytes:
        return transfer_bytes(list(self.roll[laestab].values()), laestab)

    def accepted(self, laestab: str) -> None:
        """The school's file was processed: its pupils the LA does not hold wait for a decision."""
        self.waiting |= {(laestab, g) for g in self.roll[laestab]
                         if g not in self.held and (laestab, g) not in self.decided}
        self.carers |= {(laestab, carer.sims_guid)
                        for child in self.roll[laestab].values() for carer in child.contacts}

    def decide(self, key: Key, how: str) -> None:
        self.waiting.discard(key)
        self.decided[key] = how


def xsd_invalid(data: bytes) -> bytes:
    """The file with its first pupil's forename in an element the schema does not have."""
    return data.replace(b"<Forename>", b"<Nickname>", 1).replace(b"</Forename>", b"</Nickname>", 1)


def cli(env: ServiceEnv, capsys, *args: str):
    """``b2b-soap --json ARGS`` as the LA officer runs it; the parsed output."""
    code = main(["--config", str(env.config_path), "--json", *args])
    out, err = capsys.readouterr()
    assert code == 0, (args, out, err)
    return json.loads(out)


def night(env: ServiceEnv, week: Week, schools: dict, number: int) -> None:
    """Every base uploads its file over SOAP; wait until the server's workers have processed them."""
    sent = {}
    for laestab, school in schools.items():
        data = week.file(laestab)
        if (number, laestab) == (BAD_NIGHT, BAD_BASE):
            data = xsd_invalid(data)
        receipt = school.service.UploadFile(header=file_header(school, data, name=f"night-{number}.xml"),
                                            content=data)
        sent[laestab] = receipt.FileId
    for laestab, file_id in sent.items():
        status = wait_for(_settled(schools[laestab], file_id), 60, f"night {number}'s file from {laestab}",
                          0.2)
        expected = "Rejected" if (number, laestab) == (BAD_NIGHT, BAD_BASE) else "Processed"
        assert status.Status == expected, (number, laestab, status)
        if expected == "Processed":
            week.accepted(laestab)


def _settled(school, file_id: str):
    def status():
        answer = school.service.GetFileStatus(file_id)
        return answer if answer.Status in ("Processed", "Rejected", "Failed") else None
    return status


def open_items(env: ServiceEnv, capsys, kind: str = "pupil") -> list[Key]:
    """The Unmatched list (pupils, or contacts) of every base, as base and SIMS GUID per item."""
    flag = ["--contacts"] if kind == "contact" else []
    ids = [item["id"] for laestab in BASES for item in
           cli(env, capsys, "review", "unmatched", "--base", laestab, "--page-size", "500", *flag)]
    with session_scope(env.ctx.sessions) as session:
        rows = session.execute(select(Base.laestab, IncomingRecord.sims_guid)
                               .join(Base, Base.id == IncomingRecord.base_id)
                               .where(IncomingRecord.id.in_(ids))).all()
    assert len(rows) == len(ids)
    return sorted(tuple(row) for row in rows)


def records_of(env: ServiceEnv, key: Key) -> list[IncomingRecord]:
    """Every record a base sent with one SIMS GUID, oldest first."""
    with session_scope(env.ctx.sessions) as session:
        found = list(session.scalars(select(IncomingRecord).join(Base, Base.id == IncomingRecord.base_id)
                                     .where(Base.laestab == key[0], IncomingRecord.sims_guid == key[1],
                                            IncomingRecord.kind == "pupil").order_by(IncomingRecord.id)))
        session.expunge_all()
    return found


def officer_decides(env: ServiceEnv, capsys, week: Week) -> dict[Key, int]:
    """For each base: create a person from one waiting pupil, reject one, and match (on the oldest copy,
    superseded since) the one the LA holds under an old record. Returns the last record id of each pupil."""
    reason = "not resident in the LA"
    for laestab in BASES:
        waiting = sorted(g for b, g in week.waiting if b == laestab and g in week.roll[laestab]
                         and (b, g) not in week.old_record)
        created, rejected = week.rng.sample(waiting, 2)
        answer = cli(env, capsys, "review", "create", str(records_of(env, (laestab, created))[-1].id))
        assert answer["decision"] == "new"
        week.decide((laestab, created), "created")
        cli(env, capsys, "review", "reject", str(records_of(env, (laestab, rejected))[-1].id),
            "--reason", reason)
        week.decide((laestab, rejected), "rejected")
        [(key, person)] = [(k, p) for k, p in week.old_record.items() if k[0] == laestab]
        answer = cli(env, capsys, "review", "match", str(records_of(env, key)[0].id), str(person))
        assert answer["person_id"] == person
        week.decide(key, "matched")
    return {key: records_of(env, key)[-1].id for key in week.decided}


def assert_not_queued_again(env: ServiceEnv, week: Week, decided_up_to: dict[Key, int]) -> None:
    for key, how in week.decided.items():
        later = [r for r in records_of(env, key) if r.id > decided_up_to[key]]
        assert later, f"{key} was not sent after the decision"
        expected = ("rejected", "not resident in the LA") if how == "rejected" else ("matched", "guid")
        assert {(r.status, r.reason if how == "rejected" else r.decision) for r in later} == {expected}, key


def assert_conflicts_once(env: ServiceEnv, capsys, week: Week) -> None:
    conflicts = cli(env, capsys, "conflicts", "list", "--page-size", "500")
    fields = [(c["person_id"], c["field"]) for c in conflicts]
    assert len(fields) == len(set(fields)), sorted(f for f in fields if fields.count(f) > 1)
    for guid, changed in week.changes.items():
        field = "surname" if "surname" in changed else "postcode"
        assert (week.held[guid], field) in fields, (guid, changed)


def job_runs(env: ServiceEnv) -> dict[str, list[JobRun]]:
    with session_scope(env.ctx.sessions) as session:
        runs = session.scalars(select(JobRun).where(JobRun.job.in_(JOBS)).order_by(JobRun.fire_time)).all()
        session.expunge_all()
    by_job = defaultdict(list)
    for run in runs:
        by_job[run.job].append(run)
    return by_job


def assert_jobs_ran_once_per_fire(runs: dict[str, list[JobRun]]) -> None:
    assert set(runs) == set(JOBS)
    for job, fired in runs.items():
        fires = [r.fire_time for r in fired]
        assert len(fires) == len(set(fires)), f"{job}: a fire ran twice"
        steps = [(b - a).total_seconds() for a, b in zip(fires, fires[1:])]
        assert all(step > 0 and step % EVERY == 0 for step in steps), (job, steps)
        # a fire may be dropped only when both processes are still busy with the previous one
        assert steps.count(EVERY) >= 0.8 * len(steps), (job, steps)
        assert {r.outcome for r in fired} == {"ok"}, (job, [(r.outcome, r.error) for r in fired])


def latest_alerts(env: ServiceEnv, capsys, trigger: str) -> list[dict]:
    return cli(env, capsys, "alerts", "list", "--trigger", trigger, "--limit", "1000")


def jobs_ran_since(env: ServiceEnv, moment) -> bool:
    """Each job has a finished run that started after ``moment``."""
    runs = job_runs(env)
    return all(any(r.started_at > moment and r.outcome != "running" for r in runs.get(job, []))
               for job in JOBS)


def job_workers(env: ServiceEnv) -> set[str]:
    return {r.worker for fired in job_runs(env).values() for r in fired}


def waiting_alerted(env: ServiceEnv, capsys, week: Week, after) -> bool:
    """An unmatched-waiting run started after ``after`` and its alerts count the pupils still waiting."""
    runs = [r for r in job_runs(env).get("week-unmatched-waiting", [])
            if r.started_at > after and r.outcome == "ok"]
    if not runs:
        return False
    alerts = [a for a in latest_alerts(env, capsys, UNMATCHED_WAITING)
              if datetime.fromisoformat(a["created_at"]) >= runs[0].started_at]
    newest = {}
    for alert in reversed(alerts):  # oldest first, so the newest per base stays
        newest[alert["subject"].rsplit(" from ", 1)[1]] = alert["subject"]
    waiting = Counter(laestab for laestab, _ in week.waiting)
    expected = {laestab: f"{UNMATCHED_WAITING}: {waiting[laestab]} from {laestab}" for laestab in BASES}
    assert newest == expected
    return True


def test_a_week_of_nightly_files_from_three_bases(tmp_path, postgres_url, capsys):
    env = ServiceEnv.create(tmp_path, postgres_url, processing={"enabled": True, "poll_seconds": 0.2},
                            maintenance={"enabled": True, "reload_seconds": 0.5})
    week = Week(env.ctx, random.Random(SEED))
    schools = {laestab: env.add_school(laestab) for laestab in BASES}
    add_bystander(env.ctx)
    try:
        with running_server(env.config_path, background=True, workers=2) as srv:
            for job, action in JOBS.items():
                cli(env, capsys, "jobs", "add", job, action[0], "--every", str(EVERY), *action[1:])
            schools = {laestab: zeep_client(srv, user, PASSWORD) for laestab, user in schools.items()}
            for number in range(1, NIGHTS + 1):
                if number > 1:
                    for laestab in BASES:
                        week.churn(laestab)
                night(env, week, schools, number)
                assert open_items(env, capsys) == sorted(week.waiting), f"after night {number}"
                assert open_items(env, capsys, "contact") == sorted(week.carers), f"after night {number}"
                night_over = utcnow()
                wait_for(lambda: jobs_ran_since(env, night_over), 30, f"the jobs after night {number}", 0.2)
                if number == DECISIONS_AFTER:
                    decided_up_to = officer_decides(env, capsys, week)
                    assert open_items(env, capsys) == sorted(week.waiting), "after the decisions"
            week_over = utcnow()
            wait_for(lambda: waiting_alerted(env, capsys, week, week_over), 30, "the alerts after the week",
                     0.5)
            # which process claims a fire is a race: more fires come until both have won some
            wait_for(lambda: len(job_workers(env)) == 2, 60, "jobs run by both processes", 0.5)
            log = srv.log()
        assert "Traceback" not in log, log[-3000:]
        assert_not_queued_again(env, week, decided_up_to)
        assert_conflicts_once(env, capsys, week)
        assert_jobs_ran_once_per_fire(job_runs(env))
        [rejected] = latest_alerts(env, capsys, FILE_REJECTED)
        assert rejected["subject"] == f"{FILE_REJECTED}: {BAD_BASE} night-{BAD_NIGHT}.xml"
        assert any(len(changed) > 1 for changed in week.changes.values()), "the seed changed nobody twice"
    finally:
        env.close()
