"""Process permissions granted to groups, and the rules that gate school and LA users."""
from __future__ import annotations

from sqlalchemy import ColumnElement, Exists, exists, select
from sqlalchemy.orm import Session

from ..db import Base, GroupMember, GroupPermission, User
from ..errors import BaseNotEnabled, PermissionDenied

__all__ = ["SCHOOL_PROCESSES", "LA_PROCESSES", "LEVELS", "user_permissions", "check_school_access",
           "la_refusal", "check_la_access", "school_grants", "UNMATCHED", "CONFLICTS", "REPORTS",
           "ADMINISTRATION"]

B2BS_IMPORT_EXPORT = "B2BS Import/Export"
IMPORT_EXPORT_DATA = "Import/Export data"
UNMATCHED = "Incoming Students: Unmatched"
CONFLICTS = "Incoming Students: Matched with Conflicts"
REPORTS = "Reports"
ADMINISTRATION = "Administration"

SCHOOL_PROCESSES = (B2BS_IMPORT_EXPORT, IMPORT_EXPORT_DATA)
LA_PROCESSES = (UNMATCHED, CONFLICTS, REPORTS, ADMINISTRATION)
LEVELS = ("None", "Read", "Read-Write")


def user_permissions(session: Session, user_id: int) -> dict[str, str]:
    """The best level per process over all of the user's groups."""
    rows = session.execute(
        select(GroupPermission.process, GroupPermission.level)
        .join(GroupMember, GroupMember.group_id == GroupPermission.group_id)
        .where(GroupMember.user_id == user_id)
    )
    best: dict[str, str] = {}
    for process, level in rows:
        if LEVELS.index(level) > LEVELS.index(best.get(process, "None")):
            best[process] = level
    return best


def school_grants(user_id: ColumnElement[int]) -> list[Exists]:
    """One boolean column per school process: whether the user's groups grant it Read-Write.

    ``user_id`` is a column of the enclosing query (``User.id``) or a bound parameter."""
    return [exists().where(GroupPermission.group_id == GroupMember.group_id, GroupMember.user_id == user_id,
                           GroupPermission.process == process, GroupPermission.level == "Read-Write")
            for process in SCHOOL_PROCESSES]


def check_school_access(user: User, base: Base | None, permissions: dict[str, str]) -> None:
    """Refuse a school user who may not use the SOAP service.

    Raises:
        PermissionDenied: not a school account bound to a base, or a school process not Read-Write.
        BaseNotEnabled: the base's B2B Student flag is off.
    """
    if user.kind != "school" or base is None:
        raise PermissionDenied("this account is not a school account bound to a base")
    if not base.b2b_enabled:
        raise BaseNotEnabled(f"base {base.laestab} is not enabled for B2B Student; "
                             "ask the LA to set the B2B Student Base flag")
    missing = [p for p in SCHOOL_PROCESSES if permissions.get(p) != "Read-Write"]
    if missing:
        raise PermissionDenied("the account's groups do not grant Read-Write on "
                               + " and ".join(missing) + "; ask the LA to grant it")


def la_refusal(user: User, permissions: dict[str, str], process: str, write: bool) -> str | None:
    """Why an LA user may not perform an action on ``process``, or None."""
    if user.kind != "la":
        return "only LA users may do this"
    needed = "Read-Write" if write else "Read"
    level = permissions.get(process, "None")
    if LEVELS.index(level) < LEVELS.index(needed):
        return f"needs {needed} on {process!r} (has {level})"
    return None


def check_la_access(session: Session, user: User, process: str, write: bool) -> None:
    """Refuse with PermissionDenied unless the LA user has the level on ``process`` that ``write`` asks."""
    refusal = la_refusal(user, user_permissions(session, user.id), process, write)
    if refusal is not None:
        raise PermissionDenied(refusal)
