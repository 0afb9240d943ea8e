"""Encryption at rest of transfer content: AES-256-GCM with a key ring.

Blob format (all integers unsigned)::

    version (1 byte, 1) | key id length (1 byte) | key id (ASCII) | nonce (12) | ciphertext+tag

The version and key id are authenticated with the caller's associated data, so a
blob cannot be relabelled to another key. The key file holds one key per line,
``keyid:base64``, newest last; the newest encrypts, any key decrypts.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..private_files import write_private_file
from .errors import DecryptionError, KeyFileError

__all__ = ["KeyRing", "create_key_file"]

FORMAT_VERSION = 1
NONCE_BYTES = 12
KEY_BYTES = 32
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _new_key_id() -> str:
    return secrets.token_hex(4)


class KeyRing:
    """Content keys by id, oldest first; the newest encrypts."""

    def __init__(self, keys: dict[str, bytes], path: Path | None = None) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        for key_id, key in keys.items():
            if not _KEY_ID.fullmatch(key_id) or len(key) != KEY_BYTES:
                raise ValueError(f"bad key {key_id!r}: ids are [A-Za-z0-9_-]{{1,64}}, keys 32 bytes")
        self._keys = dict(keys)
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.path = path

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    @property
    def current_key_id(self) -> str:
        """The id of the newest key, the one :meth:`encrypt` uses."""
        return next(reversed(self._keys))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> KeyRing:
        """Read a key file; refuse one that group or others may access.

        Raises:
            KeyFileError: missing, too open, or badly formed (never quoting a key).
        """
        path = Path(path)
        try:
            with open(path, "rb") as handle:
                mode = os.fstat(handle.fileno()).st_mode
                if os.name == "posix" and mode & 0o077:
                    raise KeyFileError(str(path), f"permissions {stat.filemode(mode)} are too open; "
                                                  f"run: chmod 600 {path}")
                text = handle.read().decode("ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyFileError(str(path), f"cannot read key file: {exc.__class__.__name__}") from None
        return cls(_parse_key_file(str(path), text), path)

    def encrypt(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        """Encrypt with the newest key and a fresh random nonce.

        Args:
            aad: associated data (e.g. the file id) that :meth:`decrypt` must be given again.
        """
        key_id = self.current_key_id
        header = bytes((FORMAT_VERSION, len(key_id))) + key_id.encode("ascii")
        nonce = os.urandom(NONCE_BYTES)
        return header + nonce + self._ciphers[key_id].encrypt(nonce, plaintext, header + aad)

    def decrypt(self, blob: bytes, aad: bytes = b"") -> bytes:
        """Decrypt a blob made by :meth:`encrypt` with any key of the ring.

        Raises:
            DecryptionError: unknown version or key, or the blob or ``aad`` was altered.
        """
        if len(blob) < 2 or blob[0] != FORMAT_VERSION:
            raise DecryptionError("not an encrypted blob of a known version")
        end = 2 + blob[1]
        key_id = blob[2:end].decode("ascii", "replace")
        cipher = self._ciphers.get(key_id) or self._reload(key_id)
        nonce = blob[end:end + NONCE_BYTES]
        try:
            return cipher.decrypt(nonce, blob[end + NONCE_BYTES:], blob[:end] + aad)
        except (InvalidTag, ValueError):
            raise DecryptionError("content or associated data was altered") from None

    def _reload(self, key_id: str) -> AESGCM:
        """A key added to the file since it was loaded (``keys rotate`` while serving): adopt the file's keys."""
        if self.path is None:
            raise DecryptionError(f"no key {key_id!r} in the key ring")
        fresh = KeyRing.load(self.path)
        if key_id not in fresh._keys:
            raise DecryptionError(f"no key {key_id!r} in the key ring")
        keys = {**self._keys, **fresh._keys}  # new keys come last, so the newest encrypts from now on
        self._ciphers = {**self._ciphers, **fresh._ciphers}
        self._keys = keys
        return self._ciphers[key_id]

    def add_key(self) -> str:
        """Add a new random key as the newest; returns its id. Call :meth:`save` after."""
        key_id = _new_key_id()
        while key_id in self._keys:
            key_id = _new_key_id()
        key = AESGCM.generate_key(bit_length=256)
        self._keys[key_id] = key
        self._ciphers[key_id] = AESGCM(key)
        return key_id

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write the ring atomically to ``path`` (default: where it was loaded), mode 0600."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("no path to save the key ring to")
        _ensure_private_dir(target.parent)
        lines = "".join(f"{key_id}:{base64.b64encode(key).decode()}\n"
                        for key_id, key in self._keys.items())
        header = "# b2b-soap content keys, keyid:base64, newest last. Keep secret.\n"
        write_private_file(target, (header + lines).encode("ascii"))
        self.path = target


def _parse_key_file(path: str, text: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key_id, _, encoded = line.partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            key = b""
        if not _KEY_ID.fullmatch(key_id) or len(key) != KEY_BYTES or key_id in keys:
            raise KeyFileError(path, f"line {number} is not a unique 'keyid:base64' 256-bit key")
        keys[key_id] = key
    if not keys:
        raise KeyFileError(path, "no keys in key file")
    return keys


def _ensure_private_dir(directory: Path) -> None:
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
        directory.chmod(0o700)  # mkdir's mode is reduced by the umask


def create_key_file(path: str | os.PathLike[str]) -> KeyRing:
    """Create a key file with one new random key (mode 0600, its directory 0700 if new).

    Raises:
        KeyFileError: the file already exists (a key is never overwritten).
    """
    path = Path(path)
    if path.exists():
        raise KeyFileError(str(path), "key file already exists; not overwriting a key")
    ring = KeyRing({_new_key_id(): AESGCM.generate_key(bit_length=256)}, path)
    ring.save(path)
    return ring
