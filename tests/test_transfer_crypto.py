"""Encryption at rest: round trips, tampering, key files and rotation."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from b2b_soap.transfer import DecryptionError, KeyFileError, KeyRing, create_key_file

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")

CONTENT = b"<B2BStudentTransfer/>" * 1000


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "content.keys"
    create_key_file(path)
    return path


def test_round_trip_with_associated_data(key_file: Path) -> None:
    ring = KeyRing.load(key_file)
    blob = ring.encrypt(CONTENT, aad=b"file-1")
    assert CONTENT not in blob
    assert ring.decrypt(blob, aad=b"file-1") == CONTENT


def test_each_encryption_uses_a_fresh_nonce(key_file: Path) -> None:
    ring = KeyRing.load(key_file)
    assert ring.encrypt(CONTENT) != ring.encrypt(CONTENT)


def test_wrong_associated_data_is_refused(key_file: Path) -> None:
    ring = KeyRing.load(key_file)
    with pytest.raises(DecryptionError):
        ring.decrypt(ring.encrypt(CONTENT, aad=b"file-1"), aad=b"file-2")


@pytest.mark.parametrize("position", [0, 1, 5, 20, -1, -20])
def test_any_altered_byte_is_detected(key_file: Path, position: int) -> None:
    ring = KeyRing.load(key_file)
    blob = bytearray(ring.encrypt(CONTENT))
    blob[position] ^= 0x01
    with pytest.raises(DecryptionError):
        ring.decrypt(bytes(blob))


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x02\x08abcdefgh", b"\x01\x08abcdefgh"])
def test_garbage_is_a_decryption_error(key_file: Path, blob: bytes) -> None:
    with pytest.raises(DecryptionError):
        KeyRing.load(key_file).decrypt(blob)


def test_key_file_and_directory_modes(key_file: Path) -> None:
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700


def test_an_existing_key_file_is_never_overwritten(key_file: Path) -> None:
    before = key_file.read_bytes()
    with pytest.raises(KeyFileError):
        create_key_file(key_file)
    assert key_file.read_bytes() == before


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o620])
def test_a_key_file_open_to_others_is_refused(key_file: Path, mode: int) -> None:
    key_file.chmod(mode)
    with pytest.raises(KeyFileError) as caught:
        KeyRing.load(key_file)
    assert "too open" in str(caught.value) and "chmod 600" in str(caught.value)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError):
        KeyRing.load(tmp_path / "absent.keys")


@pytest.mark.parametrize("text", ["", "# only a comment\n", "k1:bm90IGEga2V5\n", "bad id!:" + "A" * 44 + "\n",
                                  "k1:" + "A" * 43 + "=\nk1:" + "A" * 43 + "=\n"])
def test_badly_formed_key_files_are_refused_without_quoting_keys(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.keys"
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(KeyFileError) as caught:
        KeyRing.load(path)
    assert "A" * 20 not in str(caught.value)


def test_rotation_encrypts_with_the_newest_and_decrypts_with_any(key_file: Path) -> None:
    ring = KeyRing.load(key_file)
    old_id = ring.current_key_id
    old_blob = ring.encrypt(CONTENT, aad=b"f")
    new_id = ring.add_key()
    ring.save()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    reloaded = KeyRing.load(key_file)
    assert reloaded.key_ids == [old_id, new_id]
    assert reloaded.current_key_id == new_id
    new_blob = reloaded.encrypt(CONTENT, aad=b"f")
    assert new_id.encode() in new_blob[:20]
    assert reloaded.decrypt(old_blob, aad=b"f") == CONTENT
    assert reloaded.decrypt(new_blob, aad=b"f") == CONTENT


def test_a_blob_of_a_key_no_longer_in_the_ring_is_refused(key_file: Path, tmp_path: Path) -> None:
    other = create_key_file(tmp_path / "other.keys")
    with pytest.raises(DecryptionError) as caught:
        KeyRing.load(key_file).decrypt(other.encrypt(CONTENT))
    assert other.current_key_id in str(caught.value)


def test_a_loaded_ring_adopts_a_key_added_to_its_file_later(tmp_path):
    """``keys rotate`` adds a key while servers run: their rings read it from the file when they meet it."""
    path = tmp_path / "storage.key"
    serving = create_key_file(path)
    old_blob = serving.encrypt(b"before", b"f1")
    rotating = KeyRing.load(path)
    new_id = rotating.add_key()
    rotating.save()
    new_blob = rotating.encrypt(b"after", b"f2")
    assert serving.decrypt(new_blob, b"f2") == b"after"
    assert serving.current_key_id == new_id
    assert serving.decrypt(old_blob, b"f1") == b"before"
    with pytest.raises(DecryptionError, match="no key"):
        serving.decrypt(KeyRing({"zz": b"k" * 32}).encrypt(b"x"), b"")
