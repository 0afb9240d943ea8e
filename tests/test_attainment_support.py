"""Fixtures and builders shared by the attainment tests (imported by the other
``test_attainment_*`` modules; this module holds no tests of its own)."""
from __future__ import annotations

import hashlib
import uuid
from datetime import date

import pytest

from b2b_soap.licensing import ATTAINMENT_FEATURES, install_licence
from b2b_soap.attainment.directories import accept_attainment_file
from b2b_soap.attainment.examples import EXAMPLE_HIERARCHY_FILE, make_school_attainment
from b2b_soap.attainment.hierarchies import load_hierarchy_file
from b2b_soap.config import settings_from_dict
from b2b_soap.context import AppContext
from b2b_soap.db import Base, Person, PersonIdentifier, VirtualFile, session_scope
from b2b_soap.licensing import generate_keypair, issue_licence, load_private_key
from b2b_soap.transfer.crypto import create_key_file
from b2b_soap.transfer.writer import example_header, make_example_pupils, write_attainment_file

LAESTAB = "9994000"
ACTOR = "la-admin"

# Still used by test_attainment_directories.py; every other attainment test runs on both databases.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def vendor_key(tmp_path):
    """(private key path, public key text) of a throwaway licence vendor."""
    path = tmp_path / "vendor.pem"
    return path, generate_keypair(path)


@pytest.fixture
def att_settings(tmp_path, database_url, vendor_key):
    data = tmp_path / "data"
    return settings_from_dict({"data_dir": str(data), "database": {"url": database_url},
                               "licence": {"public_key": vendor_key[1]},
                               "storage": {"import_dir": str(data / "att-import"),
                                           "suspense_dir": str(data / "att-suspense")}}, environ={})


@pytest.fixture
def att_ctx(att_settings):
    create_key_file(att_settings.key_path)
    context = AppContext(att_settings)
    yield context
    context.close()


def install(ctx: AppContext, vendor_key, features=ATTAINMENT_FEATURES) -> None:
    key = issue_licence(load_private_key(vendor_key[0]), ctx.settings.la.number, list(features),
                        date(2099, 1, 1))
    with session_scope(ctx.sessions) as session:
        install_licence(session, ctx.settings, ACTOR, key)


@pytest.fixture
def school(att_ctx, vendor_key):
    """A licensed LA with the example hierarchies and one primary school whose pupils are
    known: the first half linked by GUID, the rest by UPN only.

    Returns:
        (base id, example pupils)
    """
    install(att_ctx, vendor_key)
    pupils = make_example_pupils(40, seed=3)
    with session_scope(att_ctx.sessions) as session:
        load_hierarchy_file(session, ACTOR, EXAMPLE_HIERARCHY_FILE)
        base = Base(laestab=LAESTAB, name="Example Primary", b2b_enabled=True)
        session.add(base)
        session.flush()
        link_pupils(session, base.id, pupils)
        return base.id, pupils


def link_pupils(session, base_id: int, pupils, guid_share: float = 0.5) -> dict[str, int]:
    """Persons for pupils; GUID links for the first ``guid_share`` of them. Returns UPN -> person id."""
    persons = [Person(upn=p.upn, forename=p.forename, surname=p.surname, dob=p.dob) for p in pupils]
    session.add_all(persons)
    session.flush()
    linked = int(len(pupils) * guid_share)
    session.add_all(PersonIdentifier(base_id=base_id, sims_guid=p.sims_guid, person_id=person.id)
                    for p, person in zip(pupils[:linked], persons[:linked]))
    session.flush()
    return {p.upn: person.id for p, person in zip(pupils, persons)}


def attainment_bytes(attainment_pupils, hierarchy: str = "B2B Primary 2026", laestab: str = LAESTAB,
                     task_id: int = 1) -> bytes:
    header = example_header("Attainment", source_laestab=laestab, aspect_hierarchy=hierarchy, task_id=task_id)
    return write_attainment_file(header, attainment_pupils)


def school_file(pupils, seed: int = 0, **kwargs) -> bytes:
    return attainment_bytes(make_school_attainment(pupils, seed=seed), **kwargs)


def accept(ctx: AppContext, base_id: int, data: bytes) -> str:
    """Store a virtual file as the file store would and hand it to accept_attainment_file."""
    with session_scope(ctx.sessions) as session:
        file = VirtualFile(id=str(uuid.uuid4()), file_guid=str(uuid.uuid4()), base_id=base_id,
                           data_type="Attainment", file_name="attainment.xml", total_bytes=len(data),
                           sha256=hashlib.sha256(data).hexdigest(), status="Received", task_id=1)
        session.add(file)
        session.flush()
        accept_attainment_file(session, ctx.settings, file, data)
        return file.id
