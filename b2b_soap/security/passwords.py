"""Password hashing with scrypt (from cryptography), constant-time verification and the policy."""
from __future__ import annotations

import base64
import hmac
import os

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ..errors import ValidationFailed

__all__ = ["hash_password", "verify_password", "check_policy", "PasswordPolicyError"]

_N, _R, _P, _LEN = 2**14, 8, 1, 32


class PasswordPolicyError(ValidationFailed):
    """A password the policy refuses; the message says why."""


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=_LEN, n=n, r=r, p=p).derive(password.encode("utf-8"))


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = _derive(password, salt, _N, _R, _P)
    return "scrypt${}${}${}${}${}".format(_N, _R, _P, base64.b64encode(salt).decode(),
                                          base64.b64encode(digest).decode())


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = _derive(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))


def check_policy(password: str, min_length: int = 12) -> None:
    """Raise PasswordPolicyError with a message a person can act on."""
    if len(password) < min_length:
        raise PasswordPolicyError(f"password too short: at least {min_length} characters are needed")
    if password.strip() != password:
        raise PasswordPolicyError("password must not start or end with spaces")
