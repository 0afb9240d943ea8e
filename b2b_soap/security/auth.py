"""Who is calling: credentials from HTTP Basic or a WS-Security UsernameToken, verified with
lockout and audit.

The checkers share one shape, like zeep's ``wsse`` objects: ``credentials(environ, header)``
returns :class:`Credentials` or None, where ``header`` is the parsed SOAP ``Header`` element
(or None). :func:`authenticate` then verifies them against the users table.
"""
from __future__ import annotations

import base64
import functools
import binascii
import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, TypeVar

from lxml import etree
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from .. import alerts, metrics
from ..config import Settings
from ..db import User, session_scope, utcnow
from ..errors import AccountLocked, AuthenticationFailed, B2BError
from .audit import audit
from .lockout import is_locked, record_failure, record_success
from .passwords import hash_password, verify_password

__all__ = ["Credentials", "HttpBasic", "UsernameToken", "CHECKERS", "find_credentials", "authenticate",
           "admit", "VerificationCache", "WSSE_NS", "PASSWORD_TEXT"]

WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = ("http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
                 "#PasswordText")
Admitted = TypeVar("Admitted")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    scheme: str  # "basic" or "token": a wrong Basic password is a 401, a wrong token a fault

    def __repr__(self) -> str:  # never print a password
        return f"Credentials({self.username!r}, scheme={self.scheme!r})"


class HttpBasic:
    """``Authorization: Basic base64(user:password)``."""

    scheme = "basic"

    def credentials(self, environ: Mapping[str, Any], header: etree._Element | None) -> Credentials | None:
        value = environ.get("HTTP_AUTHORIZATION", "")
        kind, _, token = value.partition(" ")
        if kind.lower() != "basic" or not token.strip():
            return None
        try:
            username, sep, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return Credentials("", "", self.scheme)  # present but unreadable: a wrong credential
        return Credentials(username, password, self.scheme) if sep else Credentials(username, "", self.scheme)


class UsernameToken:
    """``wsse:Security/wsse:UsernameToken`` with a PasswordText password (other types are refused)."""

    scheme = "token"

    def credentials(self, environ: Mapping[str, Any], header: etree._Element | None) -> Credentials | None:
        if header is None:
            return None
        token = header.find(f"{{{WSSE_NS}}}Security/{{{WSSE_NS}}}UsernameToken")
        if token is None:
            return None
        username = token.findtext(f"{{{WSSE_NS}}}Username") or ""
        password = token.find(f"{{{WSSE_NS}}}Password")
        if password is None or password.get("Type", PASSWORD_TEXT) != PASSWORD_TEXT:
            return Credentials(username.strip(), "", self.scheme)  # digest or missing: never verifies
        return Credentials(username.strip(), password.text or "", self.scheme)


CHECKERS = (HttpBasic(), UsernameToken())


def find_credentials(environ: Mapping[str, Any], header: etree._Element | None) -> Credentials | None:
    """The first credentials any checker finds (Basic before UsernameToken)."""
    for checker in CHECKERS:
        found = checker.credentials(environ, header)
        if found is not None:
            return found
    return None


class VerificationCache:
    """Recent successful scrypt verifications, so a busy client does not pay ~50 ms per call.

    Keyed by a hash of username, password and stored hash: a changed password or hash misses.
    """

    def __init__(self, ttl_seconds: float = 60.0, max_entries: int = 10_000) -> None:
        self.ttl, self.max_entries = ttl_seconds, max_entries
        self._seen: dict[bytes, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(username: str, password: str, stored: str) -> bytes:
        return hashlib.sha256("\0".join((username, password, stored)).encode()).digest()

    def verify(self, username: str, password: str, stored: str) -> bool:
        key, now = self._key(username, password, stored), time.monotonic()
        with self._lock:
            if self._seen.get(key, 0.0) > now:
                return True
        if not verify_password(password, stored):
            return False
        with self._lock:
            if len(self._seen) >= self.max_entries:
                self._seen = {k: v for k, v in self._seen.items() if v > now}
                if len(self._seen) >= self.max_entries:
                    self._seen.clear()
            self._seen[key] = now + self.ttl
        return True


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown users, so they cost the same time as known ones."""
    return hash_password("not a real password, only here to spend the same time")

_DEFAULT_CACHE = VerificationCache()
_USER_NAMED = select(User).where(User.username == bindparam("username"))  # built once: every request reads it
_CHANNELS = {"token": "soap", "basic": "basic", "web": "web"}  # metrics label per credential scheme


def _failure(session: Session, user: User | None, credentials: Credentials, settings: Settings,
             now: datetime, reason: str) -> None:
    locked_now = user is not None and record_failure(user, settings.security, now)
    channel = _CHANNELS.get(credentials.scheme, credentials.scheme)
    metrics.count_login_failure(channel)
    audit(session, credentials.username[:100] or "(none)", "auth.failure", "user",
          user.id if user else "", detail=f"{reason} ({credentials.scheme})")
    if locked_now:
        metrics.count_lockout(channel)
        _locked(session, user, credentials, settings)


def _locked(session: Session, user: User, credentials: Credentials, settings: Settings) -> None:
    security = settings.security
    why = f"{security.lockout_threshold} failures in {security.lockout_window_seconds} s"
    audit(session, credentials.username[:100], "auth.locked", "user", user.id, detail=why)
    until = (f"until {user.locked_until:%Y-%m-%d %H:%M} UTC" if user.locked_until is not None
             else "until unlocked")
    alerts.raise_alert(session, settings, alerts.ACCOUNT_LOCKED, f"{alerts.ACCOUNT_LOCKED}: {user.username}",
                       f"The {user.kind} account {user.username!r} is locked {until} after {why} "
                       f"(the last by {credentials.scheme}).\n\nIf the sign-ins were the account's owner, "
                       f"unlock it: b2b-soap user unlock {user.username}")


def _signed_in(user: User, now: datetime) -> None:
    """Record the success, at most once a minute: no write per busy request."""
    if user.failed_logins or user.last_login_at is None or (now - user.last_login_at).total_seconds() > 60:
        record_success(user, now)


def authenticate(sessions: sessionmaker[Session], settings: Settings, credentials: Credentials,
                 cache: VerificationCache | None = None, now: datetime | None = None) -> User:
    """The user the credentials belong to: :func:`admit` with a gate that lets every user in."""
    return admit(sessions, settings, credentials, lambda _session, user: user, cache, now)


def admit(sessions: sessionmaker[Session], settings: Settings, credentials: Credentials,
          gate: Callable[[Session, User], Admitted], cache: VerificationCache | None = None,
          now: datetime | None = None) -> Admitted:
    """What ``gate(session, user)`` returns for the user the credentials belong to.

    The gate runs in the sign-in's transaction, so a request pays for one. Failures are counted
    for lockout and audited, and committed whatever the gate then decides; the failure that
    locks the account also raises the alert *Account locked*.

    Raises:
        AuthenticationFailed: unknown user or wrong password (the same answer for both).
        AccountLocked: the account is locked (however good the password).
        B2BError: the gate's refusal.
    """
    cache = cache or _DEFAULT_CACHE
    now = now or utcnow()
    error: B2BError | None = None
    with session_scope(sessions) as session:
        user = session.scalar(_USER_NAMED, {"username": credentials.username})
        # verified before the lock is looked at, so a locked account costs the time of any other
        verified = cache.verify(credentials.username, credentials.password,
                                user.password_hash if user else _dummy_hash())
        if user is not None and is_locked(user, now):
            _failure(session, user, credentials, settings, now, "account locked")
            error = AccountLocked("the account is locked after repeated failed sign-ins; "
                                  "ask the LA to unlock it or wait")
        elif not verified or user is None:
            _failure(session, user, credentials, settings, now, "unknown user" if user is None else "wrong password")
            error = AuthenticationFailed("the user name or password is not correct")
            if user is not None and is_locked(user, now):
                error = AccountLocked("the account is now locked after repeated failed sign-ins")
        else:
            _signed_in(user, now)
            try:
                admitted = gate(session, user)
            except B2BError as exc:
                error = exc
    if error is not None:
        raise error
    return admitted
