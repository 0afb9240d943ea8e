"""The demo: a complete LA 999 "Demo LA" in one directory, made or brought up to date in place.

Its attainment aspects and hierarchies are the shipped ``schemas/examples/aspects-b2b-2026.json``,
so the example files of ``schemas/examples/`` import into it as they are.

The directory holds the configuration, the SQLite database, the storage key, the vendor key pair
the demo licence is signed with, and nothing else. Every step checks before it acts, so running
the demo again reuses what is there and duplicates nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..config import Settings, load_settings
from ..context import AppContext
from ..db import AspectHierarchy, Base, Person, session_scope
from ..licensing import (FEATURES, current_licence, generate_keypair, install_licence, issue_licence,
                         load_private_key, public_key_text)
from ..persons import Progress, load_carer_links, upsert_persons
from ..security import SCHOOL_PROCESSES, check_policy
from .bases import add_base
from .bootstrap import LA_ADMIN_GROUP, Step, ensure_group, ensure_member, ensure_user, initialise

__all__ = ["DemoOptions", "DemoResult", "build_demo", "DEMO_BASES", "SCHOOL_GROUP", "LA_ADMIN_USER",
           "DEFAULT_PASSWORD", "CONFIG_NAME", "PRIVATE_KEY_NAME", "school_username"]

ACTOR = "demo"
DEMO_LA, DEMO_LA_NAME = "999", "Demo LA"
DEMO_BASES = (  # LAESTAB, name, phase, B2B Student Base flag
    ("9994001", "Demo Primary School", "Primary", True),
    ("9994002", "Demo Secondary School", "Secondary", True),
    ("9994003", "Demo Academy", "All-through", True),
    ("9994004", "Demo Pupil Referral Unit", "PRU", False),
)
SCHOOL_GROUP = "Schools B2B"
LA_ADMIN_USER = "la-admin"
DEFAULT_PASSWORD = "demo-password-1"
CONFIG_NAME = "b2b-soap.toml"
PRIVATE_KEY_NAME = "vendor-private.pem"
LICENCE_DAYS = 365
_RENEW_WITHIN_DAYS = 30


@dataclass(frozen=True)
class DemoOptions:
    data_dir: Path
    port: int = 8080
    persons: int = 20_000
    password: str = DEFAULT_PASSWORD
    seed: int = 2026


@dataclass
class DemoResult:
    settings: Settings
    config_path: Path
    steps: list[Step] = field(default_factory=list)

    @property
    def usernames(self) -> list[str]:
        return [school_username(laestab) for laestab, *_ in DEMO_BASES] + [LA_ADMIN_USER]


def school_username(laestab: str) -> str:
    return f"school-{laestab}"


def _vendor_public_key(data_dir: Path) -> tuple[Path, str, Step]:
    path = data_dir / PRIVATE_KEY_NAME
    if path.exists():
        return path, public_key_text(load_private_key(path).public_key()), ("vendor key pair", f"kept {path}")
    return path, generate_keypair(path), ("vendor key pair", f"created {path} (mode 0600)")


def _write_config(data_dir: Path, port: int, public_key: str) -> tuple[Path, Step]:
    path = data_dir / CONFIG_NAME
    text = "\n".join([
        "# Demo configuration written by `b2b-soap demo`; it is rewritten each time the demo runs.",
        "# Every other key keeps its default: `b2b-soap config example` lists them.",
        f"data_dir = {json.dumps(str(data_dir))}", "",
        "[server]", 'host = "127.0.0.1"', f"port = {port}", "",
        "[la]", f'number = "{DEMO_LA}"', f"name = {json.dumps(DEMO_LA_NAME)}", "",
        "[licence]", f"public_key = {json.dumps(public_key)}", ""])
    existing = path.read_text() if path.exists() else None
    if existing == text:
        return path, ("configuration", f"kept {path}")
    path.write_text(text)
    return path, ("configuration", f"{'updated' if existing else 'created'} {path}")


def _ensure_licence(session: Session, settings: Settings, private_key_path: Path) -> Step:
    info = current_licence(session, settings)
    if info and info.has(*FEATURES) and info.expires >= date.today() + timedelta(days=_RENEW_WITHIN_DAYS):
        return "licence", f"kept ({', '.join(info.features)} until {info.expires})"
    key = issue_licence(load_private_key(private_key_path), DEMO_LA, list(FEATURES),
                        date.today() + timedelta(days=LICENCE_DAYS), DEMO_LA_NAME)
    info = install_licence(session, settings, ACTOR, key)
    return "licence", f"installed ({', '.join(info.features)} until {info.expires})"


def _ensure_schools(session: Session, settings: Settings, password: str) -> list[Step]:
    existing = set(session.scalars(select(Base.laestab)))
    added = [laestab for laestab, *_ in DEMO_BASES if laestab not in existing]
    for laestab, name, phase, enabled in DEMO_BASES:
        if laestab in added:
            add_base(session, ACTOR, laestab, name, phase, enabled)
    steps = [("bases", f"created {', '.join(added)}" if added else "unchanged"),
             ensure_group(session, ACTOR, SCHOOL_GROUP, {p: "Read-Write" for p in SCHOOL_PROCESSES},
                          "school users that exchange data with the LA")]
    for laestab, *_ in DEMO_BASES:
        username = school_username(laestab)
        steps.append(ensure_user(session, settings.security, ACTOR, username, lambda: password, base=laestab,
                                 reset_password=True))
        ensure_member(session, ACTOR, SCHOOL_GROUP, username)
    return steps


def _aspect_hierarchies(session: Session) -> Step:
    from ..attainment.examples import EXAMPLE_HIERARCHY_FILE
    from ..attainment.hierarchies import load_hierarchy_file
    held = session.scalar(select(func.count()).select_from(AspectHierarchy))
    if held:
        return "aspect hierarchies", f"kept {held}"
    loaded = load_hierarchy_file(session, ACTOR, EXAMPLE_HIERARCHY_FILE)
    return "aspect hierarchies", (f"{loaded['aspects']} aspects and {loaded['hierarchies']} hierarchies "
                                  f"loaded from {EXAMPLE_HIERARCHY_FILE.name}")


def _population(session: Session, size: int, seed: int, progress: Progress | None) -> Step:
    from ..synth import generate_population
    held = session.scalar(select(func.count()).select_from(Person))
    if held >= size:
        return "population", f"kept {held:,} persons"
    if progress:
        progress(f"generating {size:,} persons", 0, 0)
    persons, links = generate_population(size, seed)
    records = [{"external_id": p.id, "upn": p.upn, "forename": p.forename, "middle_names": p.middle_names,
                "surname": p.surname, "preferred_surname": p.preferred_surname, "dob": p.dob.isoformat(),
                "gender": p.gender, "address": p.address, "town": p.town, "postcode": p.postcode,
                "uprn": p.uprn, "phone": p.phone, "email": p.email} for p in persons]
    columns = ["id", "upn", "forename", "middle_names", "surname", "preferred_surname", "dob", "gender",
               "address", "town", "postcode", "uprn", "phone", "email"]
    inserted, updated = upsert_persons(session, records, columns, ACTOR, f"demo population seed {seed}",
                                       progress)
    added = load_carer_links(session, ((k.child_id, k.carer_id, k.relationship, k.parental_responsibility,
                                        k.priority) for k in links), progress)
    return "population", f"{inserted:,} persons added, {updated:,} updated, {added:,} carer links added"


def build_demo(options: DemoOptions, progress: Progress | None = None) -> DemoResult:
    """Create the demo in ``options.data_dir``, or bring an existing one up to date.

    Raises:
        ValidationFailed: the password is refused by the policy (checked before anything is written).
    """
    check_policy(options.password)
    data_dir = options.data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    private_key, public_key, key_step = _vendor_public_key(data_dir)
    config_path, config_step = _write_config(data_dir, options.port, public_key)
    settings = load_settings(config_path)
    result = DemoResult(settings, config_path, [key_step, config_step])
    result.steps += initialise(settings, ACTOR, LA_ADMIN_USER, lambda: options.password)
    ctx = AppContext(settings)
    try:
        with session_scope(ctx.sessions) as session:
            step = ensure_user(session, settings.security, ACTOR, LA_ADMIN_USER, lambda: options.password,
                               reset_password=True)
            if step[1] == "password reset":
                result.steps.append(step)
            ensure_member(session, ACTOR, LA_ADMIN_GROUP, LA_ADMIN_USER)
            result.steps.append(_ensure_licence(session, settings, private_key))
            result.steps += _ensure_schools(session, settings, options.password)
            result.steps.append(_aspect_hierarchies(session))
        with session_scope(ctx.sessions) as session:
            result.steps.append(_population(session, options.persons, options.seed, progress))
    finally:
        ctx.close()
    return result
