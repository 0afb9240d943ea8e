"""Server-side web sessions: a random cookie token, stored only as its SHA-256, plus a CSRF token.

The cookie carries nothing but the token; who is signed in, when, and the session's CSRF
token live in ``web_sessions``. A stolen database therefore holds no usable cookie.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from ..db import User, WebSession

__all__ = ["SESSION_COOKIE", "SIGN_IN_COOKIE", "SessionPolicy", "token_digest", "start_session", "load_session", "end_session", "same_token"]

SESSION_COOKIE = "b2b_la_session"
SIGN_IN_COOKIE = "b2b_la_sign_in"  # double-submit CSRF token for the sign-in form, before any session

# last_seen_at is written at most this often, so reading pages does not write on every request
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: idle timeout and an absolute limit."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def same_token(expected: str, given: str | None) -> bool:
    """Constant-time comparison of two tokens; a missing token never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("ascii", "replace"), given.encode("ascii", "replace"))


def start_session(db: Session, user: User, now: datetime) -> tuple[str, WebSession]:
    """Create a session for ``user``; returns the cookie token (never stored) and the row."""
    token = secrets.token_urlsafe(32)
    row = WebSession(id=token_digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                     created_at=now, last_seen_at=now)
    db.add(row)
    return token, row


def load_session(db: Session, token: str | None, policy: SessionPolicy,
                 now: datetime) -> tuple[WebSession | None, bool]:
    """The live session for a cookie token, and whether an existing session just expired."""
    if not token:
        return None, False
    row = db.get(WebSession, token_digest(token))
    if row is None:
        return None, False
    if now - row.last_seen_at > policy.idle or now - row.created_at > policy.absolute:
        db.delete(row)
        db.commit()
        return None, True
    if now - row.last_seen_at > _TOUCH_EVERY:
        row.last_seen_at = now
        db.commit()
    return row, False


def end_session(db: Session, row: WebSession) -> None:
    db.execute(delete(WebSession).where(WebSession.id == row.id))
