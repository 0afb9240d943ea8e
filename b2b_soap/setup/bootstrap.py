"""Bringing a server to a usable state: schema, system defaults, storage key, the first LA admin.

Every step checks before it acts, so running it again changes nothing that is already there.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from sqlalchemy import func, make_url, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..config import SecuritySettings, Settings
from ..db import (Group, GroupMember, GroupPermission, SystemDefault, User, is_sqlite, make_engine, session_scope,
                  upgrade)
from ..defaults import seed_defaults
from ..maintenance.store import import_config_jobs, seed_default_jobs
from ..security import LA_PROCESSES, verify_password
from .groups import add_group, add_member, get_group, grant
from .users import add_user, get_user, set_password

__all__ = ["LA_ADMIN_GROUP", "Step", "initialise", "ensure_group", "ensure_member", "ensure_user",
           "ensure_storage_key", "user_exists"]

LA_ADMIN_GROUP = "LA Administrators"
Step = tuple[str, str]
"""(what, what happened) — the lines ``init`` and ``demo`` print."""


def ensure_storage_key(settings: Settings) -> Step:
    from ..transfer.crypto import create_key_file
    if settings.key_path.exists():
        return "storage key", f"kept {settings.key_path}"
    create_key_file(settings.key_path)
    return "storage key", f"created {settings.key_path} (mode 0600)"


def ensure_group(session: Session, actor: str, name: str, grants: dict[str, str],
                 description: str = "") -> Step:
    """The group exists with at least these grants; other grants are left alone."""
    created = session.scalar(select(Group.id).where(Group.name == name)) is None
    if created:
        add_group(session, actor, name, description)
    group = get_group(session, name)
    current = dict(session.execute(select(GroupPermission.process, GroupPermission.level)
                                   .where(GroupPermission.group_id == group.id)).all())
    changed = [p for p, level in grants.items() if current.get(p) != level]
    for process in changed:
        grant(session, actor, name, process, grants[process])
    return f"group {name}", "created" if created else (f"granted {len(changed)}" if changed else "unchanged")


def ensure_member(session: Session, actor: str, group_name: str, username: str) -> bool:
    group, user = get_group(session, group_name), get_user(session, username)
    if session.get(GroupMember, (group.id, user.id)) is not None:
        return False
    add_member(session, actor, group_name, username)
    return True


def ensure_user(session: Session, security: SecuritySettings, actor: str, username: str,
                password: Callable[[], str], *, base: str | None = None,
                reset_password: bool = False) -> Step:
    """The user exists. ``password`` is only asked for when it is needed: a new user, or a reset
    requested and the stored password differs."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        add_user(session, security, actor, username, password(), base=base)
        return f"user {username}", "created"
    if reset_password:
        secret = password()
        if not verify_password(secret, user.password_hash):
            set_password(session, security, actor, username, secret)
            return f"user {username}", "password reset"
    return f"user {username}", "exists, unchanged"


def _seed_jobs(session: Session, settings: Settings, actor: str) -> Step:
    seeded, imported = seed_default_jobs(session, actor), import_config_jobs(session, actor, settings)
    if not (seeded or imported):
        return "maintenance jobs", "unchanged"
    return "maintenance jobs", f"seeded {seeded} default(s), added {imported} from the configuration file"


def user_exists(settings: Settings, username: str) -> bool:
    """Whether the database already holds this user; False when there is no usable database yet.
    Makes nothing: a SQLite file that is not there is not created."""
    url = settings.database_url
    if is_sqlite(url) and not Path(make_url(url).database or "").exists():
        return False
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(User.id).where(User.username == username)) is not None
    except DBAPIError:
        return False
    finally:
        engine.dispose()


def initialise(settings: Settings, actor: str, admin_user: str | None = None,
               admin_password: Callable[[], str] | None = None) -> list[Step]:
    """Migrate the database to head, seed system defaults and the default maintenance jobs, add the
    configured ``[[maintenance.jobs]]``, create the storage key and, when ``admin_user`` is given,
    an LA user in the LA Administrators group (every LA process Read-Write).

    A data directory it makes is removed again when a step fails, so a failed first ``init``
    leaves nothing behind.
    """
    made_data_dir = not settings.data_path.exists()
    if made_data_dir:  # the default SQLite file lives there
        settings.data_path.mkdir(mode=0o700, parents=True)
    try:
        return _initialise(settings, actor, admin_user, admin_password)
    except BaseException:
        if made_data_dir:
            shutil.rmtree(settings.data_path, ignore_errors=True)
        raise


def _initialise(settings: Settings, actor: str, admin_user: str | None,
                admin_password: Callable[[], str] | None) -> list[Step]:
    from ..context import AppContext
    url = settings.database_url
    upgrade(url)
    shown = make_url(url).render_as_string(hide_password=True)
    steps: list[Step] = [("database", f"at the latest schema: {shown}")]
    steps.append(ensure_storage_key(settings))
    ctx = AppContext(settings)
    try:
        with session_scope(ctx.sessions) as session:
            count = select(func.count()).select_from(SystemDefault)
            before = session.scalar(count)
            seed_defaults(session, settings)
            session.flush()
            added = session.scalar(count) - before
            steps.append(("system defaults", f"seeded {added}" if added else "unchanged"))
            steps.append(_seed_jobs(session, settings, actor))
            steps.append(ensure_group(session, actor, LA_ADMIN_GROUP, {p: "Read-Write" for p in LA_PROCESSES},
                                      "LA staff who administer the server"))
            if admin_user:
                if admin_password is None:
                    raise ValueError("admin_password is needed with admin_user")
                steps.append(ensure_user(session, settings.security, actor, admin_user, admin_password))
                if ensure_member(session, actor, LA_ADMIN_GROUP, admin_user):
                    steps.append((f"user {admin_user}", f"added to {LA_ADMIN_GROUP}"))
            elif session.scalar(select(User.id).where(User.kind == "la")) is None:
                steps.append(("LA admin", "none yet: run `b2b-soap init --admin-user NAME`"))
    finally:
        ctx.close()
    return steps
