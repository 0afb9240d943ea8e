"""Account lockout: failures counted in a window lock an account for a while or until unlocked."""
from __future__ import annotations

from datetime import datetime, timedelta

from ..config import SecuritySettings
from ..db import User

__all__ = ["is_locked", "record_failure", "record_success", "unlock"]


def is_locked(user: User, now: datetime) -> bool:
    return user.locked or (user.locked_until is not None and user.locked_until > now)


def record_failure(user: User, settings: SecuritySettings, now: datetime) -> bool:
    """Count one failed sign-in; return True when this failure locks the account."""
    if user.locked_until is not None and user.locked_until <= now:  # an expired lock starts a new count
        user.locked_until, user.first_failed_at = None, None
    window = timedelta(seconds=settings.lockout_window_seconds)
    if user.first_failed_at is None or now - user.first_failed_at > window:
        user.first_failed_at, user.failed_logins = now, 0
    user.failed_logins += 1
    if user.failed_logins >= settings.lockout_threshold and not is_locked(user, now):
        if settings.lockout_seconds:
            user.locked_until = now + timedelta(seconds=settings.lockout_seconds)
        else:
            user.locked = True
        return True
    return False


def record_success(user: User, now: datetime) -> None:
    user.failed_logins, user.first_failed_at, user.last_login_at = 0, None, now


def unlock(user: User) -> None:
    user.locked, user.locked_until, user.failed_logins, user.first_failed_at = False, None, 0, None
