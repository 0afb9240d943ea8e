"""Test data for service tests: a configured data directory with a licence, bases, users, groups.

``ServiceEnv.create(tmp_path, database_url)`` writes a config file (used by the real server
in ``tests/server.py``), a storage key and a licence; ``add_school`` / ``add_la_user`` add
accounts with the permissions they need. Everything goes through the models directly, so
these helpers do not depend on the admin CLI.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Iterable

from sqlalchemy import select

from b2b_soap.licensing import install_licence
from b2b_soap.config import Settings, load_settings
from b2b_soap.context import AppContext
from b2b_soap.db import Base, Group, GroupMember, GroupPermission, ScheduledTask, User, session_scope
from b2b_soap.licensing import FEATURES, generate_keypair, issue_licence, load_private_key
from b2b_soap.security import LA_PROCESSES, SCHOOL_PROCESSES, hash_password
from b2b_soap.transfer.crypto import create_key_file
from b2b_soap.transfer.writer import example_header, make_example_pupils, write_student_file

__all__ = ["ServiceEnv", "PASSWORD", "TNS", "student_file", "file_header", "fault_code", "officer_env"]

TNS = "http://schemas.b2b-soap.org/student/2026/01"
PASSWORD = "correct horse battery staple"
LA_NUMBER = "999"
_HASH = hash_password(PASSWORD)  # scrypt is slow: hash the shared test password once


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    return str(value)


@dataclass
class ServiceEnv:
    """A data directory, config file and database ready for the server."""

    root: Path
    config_path: Path
    settings: Settings
    private_key: Path
    ctx: AppContext = field(init=False)

    def __post_init__(self) -> None:
        self.ctx = AppContext(self.settings)

    @classmethod
    def create(cls, root: Path, database_url: str, *, features: Iterable[str] = FEATURES,
               licensed: bool = True, **sections: dict) -> "ServiceEnv":
        """Write config + key + licence. ``sections`` override config, e.g. ``security={...}``."""
        root.mkdir(parents=True, exist_ok=True)
        private_key = root / "vendor.pem"
        public_key = generate_keypair(private_key)
        config = {"data_dir": str(root / "data"),
                  "database": {"url": database_url},
                  "la": {"number": LA_NUMBER, "name": "Test LA"},
                  "licence": {"public_key": public_key},
                  "server": {"host": "127.0.0.1", "threads": 8, "access_log": True},
                  "processing": {"enabled": False}, "maintenance": {"enabled": False}}
        for section, values in sections.items():
            config.setdefault(section, {}).update(values)
        lines = [f"data_dir = {_toml(config.pop('data_dir'))}"]
        for section, values in config.items():
            lines.append(f"[{section}]")
            lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
        config_path = root / "b2b-soap.toml"
        config_path.write_text("\n".join(lines) + "\n")
        settings = load_settings(config_path, environ={})
        create_key_file(settings.key_path)
        env = cls(root, config_path, settings, private_key)
        if licensed:
            env.install_licence(features)
        return env

    def close(self) -> None:
        self.ctx.close()

    def install_licence(self, features: Iterable[str] = FEATURES, expires: date | None = None) -> None:
        key = issue_licence(load_private_key(self.private_key), LA_NUMBER, list(features),
                            expires or date.today() + timedelta(days=365), "Test LA")
        with session_scope(self.ctx.sessions) as session:
            install_licence(session, self.settings, "test", key)

    def _group(self, session, name: str, grants: dict[str, str]) -> Group:
        group = session.scalar(select(Group).where(Group.name == name))
        if group is None:
            group = Group(name=name)
            session.add(group)
            session.flush()
            for process, level in grants.items():
                session.add(GroupPermission(group_id=group.id, process=process, level=level))
        return group

    def add_school(self, laestab: str, username: str | None = None, *, enabled: bool = True,
                   permissions: bool = True, password: str = PASSWORD) -> str:
        """A base (flagged or not) and a school user for it; returns the user name."""
        username = username or f"school{laestab}"
        with session_scope(self.ctx.sessions) as session:
            base = session.scalar(select(Base).where(Base.laestab == laestab))
            if base is None:
                base = Base(laestab=laestab, name=f"School {laestab}", b2b_enabled=enabled)
                session.add(base)
                session.flush()
            user = User(username=username, password_hash=_HASH if password == PASSWORD else hash_password(password),
                        kind="school", base_id=base.id)
            session.add(user)
            session.flush()
            if permissions:
                group = self._group(session, "Schools", {p: "Read-Write" for p in SCHOOL_PROCESSES})
                session.add(GroupMember(group_id=group.id, user_id=user.id))
        return username

    def add_la_user(self, username: str, grants: dict[str, str]) -> str:
        with session_scope(self.ctx.sessions) as session:
            user = User(username=username, password_hash=_HASH, kind="la")
            session.add(user)
            session.flush()
            group = self._group(session, f"LA {username}", grants)
            session.add(GroupMember(group_id=group.id, user_id=user.id))
        return username

    def add_task(self, laestab: str, data_type: str = "Student") -> int:
        """A school-owned export task of the base; returns its TaskId (uploads must name a task of their base)."""
        with session_scope(self.ctx.sessions) as session:
            base_id = session.scalar(select(Base.id).where(Base.laestab == laestab))
            task = ScheduledTask(base_id=base_id, name=f"{data_type} export", data_type=data_type, direction="Export",
                                 owner="School", frequency="Daily", time_of_day="18:00")
            session.add(task)
            session.flush()
            return task.id

    def set_base_enabled(self, laestab: str, enabled: bool) -> None:
        with session_scope(self.ctx.sessions) as session:
            session.scalar(select(Base).where(Base.laestab == laestab)).b2b_enabled = enabled


def officer_env(root: Path, database_url: str, laestab: str) -> ServiceEnv:
    """A ServiceEnv with one school (user ``sims``) and an LA user ``officer`` with Read-Write on every LA process."""
    env = ServiceEnv.create(root, database_url)
    env.add_school(laestab, "sims")
    env.add_la_user("officer", {p: "Read-Write" for p in LA_PROCESSES})
    return env


def student_file(laestab: str = "9994000", pupils: int = 20, seed: int = 1, file_guid: str | None = None) -> bytes:
    """A valid Student transfer file from ``laestab`` to LA 999."""
    header = example_header(source_laestab=laestab, file_guid=file_guid)
    return write_student_file(header, make_example_pupils(pupils, seed, estab=laestab[3:]))


def file_header(client, data: bytes, *, guid: str | None = None, data_type: str = "Student",
                compression: str = "None", part: int = 1, parts: int = 1, total: int | None = None,
                sha256: str | None = None, name: str = "pupils.xml", task_id: int | None = None):
    """A zeep FileHeader for ``data`` (the whole decompressed file)."""
    header_type = client.get_type("{http://schemas.b2b-soap.org/student/2026/01}FileHeader")
    return header_type(FileGuid=guid or str(uuid.uuid4()), TaskId=task_id, DataType=data_type, FileName=name,
                       TotalBytes=len(data) if total is None else total,
                       Sha256=sha256 or hashlib.sha256(data).hexdigest(), Compression=compression,
                       PartNumber=part, PartCount=parts, CreatedUtc=None)


def fault_code(fault, client) -> str:
    """The Code of a typed B2BFault (a ``zeep.exceptions.Fault``); its Message must be the faultstring."""
    detail = client.get_element(f"{{{TNS}}}B2BFault").parse(fault.detail[0], client.wsdl.types)
    assert detail.Message == fault.message
    return detail.Code
