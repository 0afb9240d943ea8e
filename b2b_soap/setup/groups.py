"""Groups, their process permissions (None / Read / Read-Write) and their members."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import Group, GroupMember, GroupPermission, User
from ..errors import NotFound, ValidationFailed
from ..security import LA_PROCESSES, LEVELS, SCHOOL_PROCESSES, audit
from .users import end_web_sessions, get_user

__all__ = ["PROCESSES", "add_group", "get_group", "list_groups", "grant", "add_member", "remove_member",
           "process_name", "level_name"]

PROCESSES = SCHOOL_PROCESSES + LA_PROCESSES


def process_name(text: str) -> str:
    """The process named ``text``, matched without regard to case."""
    for name in PROCESSES:
        if name.casefold() == text.strip().casefold():
            return name
    raise ValidationFailed(f"unknown process {text!r}; known: {', '.join(PROCESSES)}")


def level_name(text: str) -> str:
    for name in LEVELS:
        if name.casefold() == text.strip().casefold():
            return name
    raise ValidationFailed(f"unknown level {text!r}; use one of {', '.join(LEVELS)}")


def get_group(session: Session, name: str) -> Group:
    group = session.scalar(select(Group).where(Group.name == name.strip()))
    if group is None:
        raise NotFound(f"unknown group {name!r}")
    return group


def add_group(session: Session, actor: str, name: str, description: str = "") -> Group:
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("a group name needs 1-100 characters")
    if session.scalar(select(Group.id).where(Group.name == name)) is not None:
        raise ValidationFailed(f"group {name!r} already exists")
    group = Group(name=name, description=description.strip())
    session.add(group)
    session.flush()
    audit(session, actor, "group.add", "group", name, None, {"name": name, "description": group.description})
    return group


def list_groups(session: Session) -> list[dict[str, Any]]:
    permissions: dict[int, list[str]] = {}
    for row in session.scalars(select(GroupPermission).order_by(GroupPermission.process)):
        permissions.setdefault(row.group_id, []).append(f"{row.process}={row.level}")
    members: dict[int, list[str]] = {}
    member_rows = (select(GroupMember.group_id, User.username).join(User, User.id == GroupMember.user_id)
                   .order_by(User.username))
    for group_id, username in session.execute(member_rows):
        members.setdefault(group_id, []).append(username)
    return [{"name": g.name, "description": g.description,
             "permissions": "; ".join(permissions.get(g.id, [])), "members": ", ".join(members.get(g.id, []))}
            for g in session.scalars(select(Group).order_by(Group.name))]


def grant(session: Session, actor: str, group_name: str, process: str, level: str) -> GroupPermission:
    """Set a group's level on one process (``None`` keeps a row saying so); audited."""
    group = get_group(session, group_name)
    process, level = process_name(process), level_name(level)
    row = session.get(GroupPermission, (group.id, process))
    before = {"level": row.level if row else "None"}
    if row is None:
        row = GroupPermission(group_id=group.id, process=process, level=level)
        session.add(row)
    if LEVELS.index(level) < LEVELS.index(row.level):
        members = session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group.id))
        end_web_sessions(session, list(members))
    row.level = level
    audit(session, actor, "group.grant", "group", group.name, before, {"process": process, "level": level})
    return row


def add_member(session: Session, actor: str, group_name: str, username: str) -> None:
    group, user = get_group(session, group_name), get_user(session, username)
    if session.get(GroupMember, (group.id, user.id)) is not None:
        raise ValidationFailed(f"user {user.username!r} is already in group {group.name!r}")
    session.add(GroupMember(group_id=group.id, user_id=user.id))
    audit(session, actor, "group.member_add", "group", group.name, None, {"member": user.username})


def remove_member(session: Session, actor: str, group_name: str, username: str) -> None:
    group, user = get_group(session, group_name), get_user(session, username)
    row = session.get(GroupMember, (group.id, user.id))
    if row is None:
        raise NotFound(f"user {user.username!r} is not in group {group.name!r}")
    session.delete(row)
    end_web_sessions(session, [user.id])
    audit(session, actor, "group.member_remove", "group", group.name, {"member": user.username}, None)
