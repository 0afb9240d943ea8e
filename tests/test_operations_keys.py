"""Storage key rotation: interrupted after one batch, resumed, every content still readable."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from b2b_soap.db import Base, Download, FilePart, VirtualFile, session_scope, utcnow
from b2b_soap.downloads import fetch_download, queue_download
from b2b_soap.errors import ValidationFailed
from b2b_soap.operations import keys
from b2b_soap.transfer.crypto import KeyRing
from b2b_soap.files import read_content

pytest_plugins = ["test_cli_support"]  # the cli fixture: same data directory and database as ctx


def _seed(ctx, files: int = 5) -> dict[str, bytes]:
    """Virtual files, parts of a receiving file and downloads, encrypted as the store does."""
    ring, plain = ctx.keyring, {}
    with session_scope(ctx.sessions) as session:
        base = Base(laestab="9994001", name="Rotation School", b2b_enabled=True)
        session.add(base)
        session.flush()
        for i in range(files):
            file_id, data = str(uuid.uuid4()), f"<file>{i}</file>".encode()
            session.add(VirtualFile(id=file_id, file_guid=str(uuid.uuid4()), base_id=base.id, data_type="Student",
                                    file_name=f"f{i}.xml", total_bytes=len(data), sha256="0" * 64,
                                    status="Processed", content=ring.encrypt(data, file_id.encode()),
                                    key_id=ring.current_key_id))
            plain[file_id] = data
        receiving = str(uuid.uuid4())
        session.add(VirtualFile(id=receiving, file_guid=str(uuid.uuid4()), base_id=base.id, data_type="Student",
                                file_name="parts.xml", total_bytes=10, sha256="0" * 64, status="Receiving",
                                part_count=3))
        session.flush()
        for number in (1, 2):
            data = f"part {number}".encode()
            session.add(FilePart(file_id=receiving, part_number=number, size=len(data), key_id=ring.current_key_id,
                                 content=ring.encrypt(data, f"{receiving}:{number}".encode())))
            plain[f"{receiving}:{number}"] = data
        for row in queue_download(session, ring, "test", ["9994001"] * 1, "down.xml", b"<down/>"):
            plain[row.id] = b"<down/>"
        session.add(VirtualFile(id=str(uuid.uuid4()), file_guid=str(uuid.uuid4()), base_id=base.id,
                                data_type="Student", file_name="gone.xml", total_bytes=1, sha256="0" * 64,
                                status="Processed", content=None, deleted_at=utcnow()))
    return plain


def _read_all(ctx, ring: KeyRing) -> dict[str, bytes]:
    """Every stored content, read back through the store's and downloads' own functions."""
    out = {}
    with session_scope(ctx.sessions) as session:
        for vf in session.scalars(select(VirtualFile).where(VirtualFile.content.is_not(None))):
            out[vf.id] = read_content(ring, vf)
        for part in session.scalars(select(FilePart)):
            out[f"{part.file_id}:{part.part_number}"] = ring.decrypt(part.content,
                                                                     f"{part.file_id}:{part.part_number}".encode())
        for download in session.scalars(select(Download)):
            out[download.id] = fetch_download(session, ring, download.base_id, download.id)[1]
    return out


def test_rotation_interrupted_then_resumed(ctx):
    plain = _seed(ctx)
    old = ctx.keyring.current_key_id
    new = keys.add_key(ctx)
    assert KeyRing.load(ctx.settings.key_path).key_ids == [old, new]

    first = keys.reencrypt(ctx, batch_size=2, max_batches=1)  # "killed" after one batch
    assert sum(first.values()) == 2
    status = keys.key_status(ctx)
    assert status["current_key"] == new and status["pending"] == len(plain) - 2
    assert status["tables"]["virtual_files"] == {old: 3, new: 2}
    assert _read_all(ctx, KeyRing.load(ctx.settings.key_path)) == plain  # mixed keys: all readable

    with pytest.raises(ValidationFailed, match="still use key"):
        keys.retire_key(ctx, old)

    keys.reencrypt(ctx, batch_size=2)  # resume: the work list is what is not on the newest key
    status = keys.key_status(ctx)
    assert status["pending"] == 0
    assert all(set(counts) == {new} for counts in status["tables"].values())

    keys.retire_key(ctx, old)
    ring = KeyRing.load(ctx.settings.key_path)
    assert ring.key_ids == [new]
    assert _read_all(ctx, ring) == plain  # the old key is gone and everything still decrypts


def test_retire_refuses_the_newest_or_an_unknown_key(ctx):
    with pytest.raises(ValidationFailed, match="newest"):
        keys.retire_key(ctx, ctx.keyring.current_key_id)
    with pytest.raises(ValidationFailed, match="no key"):
        keys.retire_key(ctx, "nosuchkey")


def test_key_commands_rotate_report_and_retire(ctx, cli):
    plain = _seed(ctx, files=3)
    old = ctx.keyring.current_key_id
    assert (cli.json("keys", "status")["current_key"], cli.json("keys", "status")["pending"]) == (old, 0)
    assert "rows to re-encrypt: 0" in cli.ok("keys", "status").out

    interrupted = cli("--json", "keys", "rotate", "--batch-size", "1", "--max-batches", "1")
    assert interrupted.code == 0 and "--resume" in interrupted.err
    new = json.loads(interrupted.out)["new_key"]
    status = cli.json("keys", "status")
    assert (status["current_key"], status["keys"], status["pending"]) == (new, [old, new], 5)
    assert f"still use key {old}" in cli.fails("keys", "retire", old)

    assert cli.json("keys", "rotate", "--resume")["rows_left"] == 0
    assert f"key {old} removed" in cli.ok("keys", "retire", old).out
    ring = KeyRing.load(ctx.settings.key_path)
    assert ring.key_ids == [new] and _read_all(ctx, ring) == plain
    assert "newest" in cli.fails("keys", "retire", new)
    assert cli.json("keys", "status")["keys"] == [new]
