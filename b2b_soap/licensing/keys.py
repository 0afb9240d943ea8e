"""Licence keys: Ed25519-signed tokens naming the LA, the features and the expiry.

A key is ``B2BL1.<payload>.<signature>``, both parts base64url without padding; the payload
is JSON ``{"la": "999", "licensee": "...", "features": [...], "expires": "YYYY-MM-DD"}`` and the
signature covers the exact payload bytes. See docs/licences.md.
"""
from __future__ import annotations

import base64
import functools
import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import ValidationFailed

__all__ = ["FEATURES", "LicenceError", "LicenceInfo", "issue_licence", "verify_licence", "generate_keypair",
           "load_private_key", "public_key_text"]

PREFIX = "B2BL1"
B2B_STUDENT, PULSE, B2B_ATTAINMENT = "B2B_STUDENT", "PULSE", "B2B_ATTAINMENT"
FEATURES = (B2B_STUDENT, PULSE, B2B_ATTAINMENT)


class LicenceError(ValidationFailed):
    """A licence key was refused; ``reason`` is malformed, tampered, expired, wrong-la or no-key."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True)
class LicenceInfo:
    la_number: str
    licensee: str
    features: tuple[str, ...]
    expires: date

    def has(self, *features: str) -> bool:
        return all(f in self.features for f in features)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    # validate=True: a character outside base64url is an error, not silently dropped
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def generate_keypair(private_key_path: Path) -> str:
    """Write a new private key (PEM, mode 0600) and return the public key as base64."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    private_key_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return public_key_text(key.public_key())


def public_key_text(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def issue_licence(private_key: Ed25519PrivateKey, la_number: str, features: list[str], expires: date,
                  licensee: str = "") -> str:
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise ValueError(f"unknown feature(s): {', '.join(unknown)}; known: {', '.join(FEATURES)}")
    payload = json.dumps({"la": la_number, "licensee": licensee, "features": sorted(set(features)),
                          "expires": expires.isoformat()}, separators=(",", ":"), sort_keys=True).encode()
    return f"{PREFIX}.{_b64(payload)}.{_b64(private_key.sign(payload))}"


def _public_key(public_key_b64: str) -> Ed25519PublicKey:
    if not public_key_b64:
        raise LicenceError("no-key", "no licence public key is configured ([licence] public_key)")
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
    except ValueError:
        raise LicenceError("no-key", "[licence] public_key is not a base64 Ed25519 public key") from None


def _parse(key: str) -> tuple[bytes, bytes]:
    parts = key.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise LicenceError("malformed", "licence key is malformed: expected B2BL1.<payload>.<signature>")
    try:
        return _unb64(parts[1]), _unb64(parts[2])
    except ValueError:
        raise LicenceError("malformed", "licence key is malformed: not base64") from None


def verify_licence(key: str, public_key_b64: str, la_number: str, today: date | None = None) -> LicenceInfo:
    """Check signature, LA and expiry; raise LicenceError saying which check failed."""
    info = _signed_for(key.strip(), public_key_b64, la_number)
    if info.expires < (today or date.today()):
        raise LicenceError("expired", f"licence key expired on {info.expires.isoformat()}")
    return info


@functools.lru_cache(maxsize=16)
def _signed_for(key: str, public_key_b64: str, la_number: str) -> LicenceInfo:
    """The key's content once its signature and LA check out.

    Remembered per key, public key and LA (the same inputs always give the same answer, and a
    refusal raises, so is never remembered): the gate of every request reads the installed key,
    and verifying its signature again would cost each one about 0.4 ms. Expiry is not decided here.
    """
    payload, signature = _parse(key)
    try:
        _public_key(public_key_b64).verify(signature, payload)
    except InvalidSignature:
        raise LicenceError("tampered", "licence key signature does not verify: the key was altered "
                           "or was issued for another public key") from None
    try:
        data = json.loads(payload)
        info = LicenceInfo(la_number=str(data["la"]), licensee=str(data.get("licensee", "")),
                           features=tuple(data["features"]), expires=date.fromisoformat(data["expires"]))
    except (ValueError, KeyError, TypeError):
        raise LicenceError("malformed", "licence key payload is malformed") from None
    if info.la_number != la_number:
        raise LicenceError("wrong-la", f"licence key is for LA {info.la_number}, this server is LA {la_number}")
    return info
