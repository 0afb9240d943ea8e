"""Users: school users bound to one base, and LA users. Passwords are stored only as scrypt hashes
and never written to the audit log."""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..config import SecuritySettings
from ..db import Base, Group, GroupMember, User, WebSession, utcnow
from ..errors import NotFound, ValidationFailed
from ..security import audit, check_policy, hash_password, is_locked, unlock
from .bases import get_base

__all__ = ["add_user", "get_user", "list_users", "set_password", "lock_user", "unlock_user", "require_policy",
           "end_web_sessions"]


def _snapshot(user: User, laestab: str | None) -> dict[str, Any]:
    return {"username": user.username, "kind": user.kind, "base": laestab, "full_name": user.full_name,
            "email": user.email}


def require_policy(password: str, security: SecuritySettings) -> str:
    """The password, if the policy accepts it; else PasswordPolicyError (a ValidationFailed) saying why."""
    check_policy(password, security.min_password_length)
    return password


def _policy_hash(password: str, security: SecuritySettings) -> str:
    return hash_password(require_policy(password, security))


def end_web_sessions(session: Session, user_ids: list[int]) -> None:
    """Sign these users out of the web pages: their access has just changed."""
    session.execute(delete(WebSession).where(WebSession.user_id.in_(user_ids)))


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise NotFound(f"unknown user {username!r}")
    return user


def add_user(session: Session, security: SecuritySettings, actor: str, username: str, password: str, *,
             base: str | None = None, full_name: str = "", email: str = "") -> User:
    """Create a school user (``base`` = its LAESTAB) or, without ``base``, an LA user; audited.

    Raises:
        ValidationFailed: bad or duplicate username, or a password the policy refuses.
        NotFound: unknown base.
    """
    username = username.strip()
    if not username or len(username) > 100 or any(ch.isspace() for ch in username):
        raise ValidationFailed(f"bad username {username!r}: 1-100 characters, no spaces")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValidationFailed(f"user {username!r} already exists")
    bound = get_base(session, base) if base is not None else None
    user = User(username=username, password_hash=_policy_hash(password, security),
                kind="school" if bound else "la", base_id=bound.id if bound else None,
                full_name=full_name.strip(), email=email.strip())
    session.add(user)
    session.flush()
    audit(session, actor, "user.add", "user", username, None,
          _snapshot(user, bound.laestab if bound else None))
    return user


def list_users(session: Session, base: str | None = None) -> list[dict[str, Any]]:
    query = (select(User, Base.laestab).outerjoin(Base, Base.id == User.base_id).order_by(User.username))
    if base is not None:
        query = query.where(User.base_id == get_base(session, base).id)
    groups: dict[int, list[str]] = {}
    for user_id, name in session.execute(select(GroupMember.user_id, Group.name)
                                         .join(Group, Group.id == GroupMember.group_id).order_by(Group.name)):
        groups.setdefault(user_id, []).append(name)
    now = utcnow()
    return [dict(_snapshot(user, laestab), locked=is_locked(user, now), failed_logins=user.failed_logins,
                 last_login_at=user.last_login_at, groups=", ".join(groups.get(user.id, [])))
            for user, laestab in session.execute(query)]


def set_password(session: Session, security: SecuritySettings, actor: str, username: str,
                 password: str) -> None:
    """Replace a password (policy-checked); audited without the hash."""
    user = get_user(session, username)
    user.password_hash = _policy_hash(password, security)
    end_web_sessions(session, [user.id])
    audit(session, actor, "user.passwd", "user", user.username, detail="password changed")


def lock_user(session: Session, actor: str, username: str) -> User:
    """Lock an account until an administrator unlocks it."""
    user = get_user(session, username)
    before = {"locked": is_locked(user, utcnow())}
    user.locked = True
    end_web_sessions(session, [user.id])
    audit(session, actor, "user.lock", "user", user.username, before, {"locked": True})
    return user


def unlock_user(session: Session, actor: str, username: str) -> User:
    """Clear a lock and the failed sign-in count."""
    user = get_user(session, username)
    before = {"locked": is_locked(user, utcnow()), "failed_logins": user.failed_logins}
    unlock(user)
    end_web_sessions(session, [user.id])
    audit(session, actor, "user.unlock", "user", user.username, before, {"locked": False, "failed_logins": 0})
    return user
