"""Password hashing (scrypt, salted, constant-time check), the policy, and the lockout fields."""
from datetime import datetime, timedelta

import pytest

from b2b_soap.config import SecuritySettings
from b2b_soap.db import User, session_scope
from b2b_soap.errors import AccountLocked, AuthenticationFailed
from b2b_soap.security import (PasswordPolicyError, check_policy, hash_password, is_locked, record_failure,
                               record_success, unlock, verify_password)
from b2b_soap.security.auth import Credentials, VerificationCache, authenticate

NOW = datetime(2026, 3, 1, 9, 0, 0)


def test_hash_is_salted_scrypt_and_verifies():
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first.startswith("scrypt$") and first != second
    assert "correct horse" not in first
    assert verify_password("correct horse battery", first)
    assert verify_password("correct horse battery", second)
    assert not verify_password("correct horse batterx", first)


@pytest.mark.parametrize("stored", ["", "plain-text", "md5$abc", "scrypt$1$2$3$!!$!!",
                                    "scrypt$x$8$1$AA==$AA=="])
def test_malformed_stored_hash_never_verifies(stored):
    assert verify_password("anything at all", stored) is False


@pytest.mark.parametrize("password, message", [
    ("short", "at least 12 characters"),
    ("elevenchars", "at least 12 characters"),
    (" leading-space-password", "spaces"),
    ("trailing-space-password ", "spaces"),
])
def test_policy_refuses_with_a_clear_message(password, message):
    with pytest.raises(PasswordPolicyError, match=message):
        check_policy(password)


def test_policy_accepts_twelve_characters_and_a_configured_minimum():
    check_policy("twelve-chars")
    with pytest.raises(PasswordPolicyError, match="at least 16"):
        check_policy("twelve-chars", min_length=16)


def _user() -> User:
    return User(username="u", password_hash="", kind="la", failed_logins=0, locked=False)


def test_failures_lock_at_the_threshold_for_a_while():
    security = SecuritySettings(lockout_threshold=3, lockout_window_seconds=900, lockout_seconds=1800)
    user = _user()
    assert not record_failure(user, security, NOW)
    assert not record_failure(user, security, NOW + timedelta(seconds=10))
    assert user.failed_logins == 2 and not is_locked(user, NOW)
    assert record_failure(user, security, NOW + timedelta(seconds=20))
    assert is_locked(user, NOW + timedelta(seconds=21))
    assert user.locked_until == NOW + timedelta(seconds=1820) and not user.locked
    assert not is_locked(user, NOW + timedelta(seconds=1821))


def test_failures_outside_the_window_start_a_new_count():
    security = SecuritySettings(lockout_threshold=2, lockout_window_seconds=60, lockout_seconds=60)
    user = _user()
    record_failure(user, security, NOW)
    assert not record_failure(user, security, NOW + timedelta(seconds=61))
    assert user.failed_logins == 1 and user.first_failed_at == NOW + timedelta(seconds=61)


def test_zero_lockout_seconds_locks_until_unlocked():
    security = SecuritySettings(lockout_threshold=1, lockout_seconds=0)
    user = _user()
    assert record_failure(user, security, NOW)
    assert user.locked and is_locked(user, NOW + timedelta(days=365))
    unlock(user)
    assert not is_locked(user, NOW) and user.failed_logins == 0 and user.first_failed_at is None


def test_success_clears_the_count_and_records_the_sign_in():
    user = _user()
    record_failure(user, SecuritySettings(), NOW)
    record_success(user, NOW + timedelta(seconds=5))
    assert user.failed_logins == 0 and user.first_failed_at is None
    assert user.last_login_at == NOW + timedelta(seconds=5)


def test_an_expired_lock_starts_a_new_count():
    security = SecuritySettings(lockout_threshold=2, lockout_window_seconds=86400, lockout_seconds=60)
    user = _user()
    record_failure(user, security, NOW)
    assert record_failure(user, security, NOW + timedelta(seconds=1))
    assert not record_failure(user, security, NOW + timedelta(seconds=120))
    assert not is_locked(user, NOW + timedelta(seconds=121)) and user.failed_logins == 1
    assert record_failure(user, security, NOW + timedelta(seconds=130))
    assert is_locked(user, NOW + timedelta(seconds=131))


class _CountingCache(VerificationCache):
    """The real cache, counting how often a password was checked."""

    def __init__(self) -> None:
        super().__init__(ttl_seconds=0)
        self.checks = 0

    def verify(self, username: str, password: str, stored: str) -> bool:
        self.checks += 1
        return super().verify(username, password, stored)


def test_a_locked_account_checks_the_password_like_any_other(ctx):
    with session_scope(ctx.sessions) as session:
        session.add(User(username="locked", password_hash=hash_password("right password!"), kind="la",
                         failed_logins=0, locked=True))
    cache = _CountingCache()
    for password in ("right password!", "wrong password!"):
        with pytest.raises(AccountLocked):
            authenticate(ctx.sessions, ctx.settings, Credentials("locked", password, "basic"), cache)
    with pytest.raises(AuthenticationFailed):
        authenticate(ctx.sessions, ctx.settings, Credentials("nobody", "wrong password!", "basic"), cache)
    assert cache.checks == 3
