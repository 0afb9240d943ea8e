"""Storage key rotation: add a key, re-encrypt stored contents in batches, retire old keys.

Every encrypted column records its key id, so the work list of a rotation is simply the
rows not yet on the newest key: an interrupted rotation resumes by running again. Each
batch is one short transaction (rows locked with SKIP LOCKED on PostgreSQL), so uploads
and downloads carry on meanwhile. Old keys stay in the ring until ``retire`` finds no row
that uses them.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..context import AppContext
from ..db import Download, FilePart, VirtualFile, is_sqlite, session_scope
from ..errors import ValidationFailed
from ..transfer.crypto import KeyRing

__all__ = ["ENCRYPTED", "key_status", "add_key", "reencrypt", "retire_key"]


@dataclass(frozen=True)
class Encrypted:
    """A model with an encrypted ``content`` column and the associated data the store uses."""

    name: str
    model: type
    aad: Callable[[object], bytes]


ENCRYPTED = (
    Encrypted("virtual_files", VirtualFile, lambda row: row.id.encode()),
    Encrypted("file_parts", FilePart, lambda row: f"{row.file_id}:{row.part_number}".encode()),
    Encrypted("downloads", Download, lambda row: row.id.encode()),
)


def key_status(ctx: AppContext) -> dict:
    """Rows per key id in each encrypted table, the ring's keys and the rows left to re-encrypt."""
    ring = KeyRing.load(ctx.settings.key_path)
    tables, pending = {}, 0
    with session_scope(ctx.sessions) as session:
        for spec in ENCRYPTED:
            model = spec.model
            counts = dict(session.execute(select(model.key_id, func.count()).where(model.content.is_not(None))
                                          .group_by(model.key_id)).all())
            tables[spec.name] = counts
            pending += sum(n for key_id, n in counts.items() if key_id != ring.current_key_id)
    return {"current_key": ring.current_key_id, "keys": ring.key_ids, "tables": tables, "pending": pending}


def add_key(ctx: AppContext) -> str:
    """Add a new newest key to the key file; returns its id. Old keys stay for decryption."""
    ring = KeyRing.load(ctx.settings.key_path)
    key_id = ring.add_key()
    ring.save()
    ctx.__dict__["keyring"] = ring  # replace the cached ring of this process
    return key_id


def _batch(session: Session, spec: Encrypted, ring: KeyRing, size: int, sqlite: bool) -> int:
    model = spec.model
    query = (select(model).where(model.content.is_not(None), model.key_id != ring.current_key_id)
             .limit(size))
    if not sqlite:
        query = query.with_for_update(skip_locked=True)
    rows = session.scalars(query).all()
    for row in rows:
        aad = spec.aad(row)
        row.content = ring.encrypt(ring.decrypt(row.content, aad), aad)
        row.key_id = ring.current_key_id
    return len(rows)


def reencrypt(ctx: AppContext, batch_size: int = 200, max_batches: int | None = None,
              stop: threading.Event | None = None) -> dict[str, int]:
    """Re-encrypt every stored content that is not on the newest key, ``batch_size`` rows a transaction.

    Args:
        max_batches: stop after this many batches (a rotation spread over several runs).
        stop: stop between batches when set.
    """
    ring = KeyRing.load(ctx.settings.key_path)  # the file, not a cached ring: it may have just changed
    sqlite = is_sqlite(ctx.engine)
    counts = {spec.name: 0 for spec in ENCRYPTED}
    batches = 0
    for spec in ENCRYPTED:
        while max_batches is None or batches < max_batches:
            if stop is not None and stop.is_set():
                return counts
            with session_scope(ctx.sessions) as session:
                done = _batch(session, spec, ring, batch_size, sqlite)
            if not done:
                break
            counts[spec.name] += done
            batches += 1
    return counts


def retire_key(ctx: AppContext, key_id: str) -> None:
    """Remove ``key_id`` from the key file once no stored content uses it.

    Raises:
        ValidationFailed: unknown key, the newest key, or rows still encrypted with it.
    """
    ring = KeyRing.load(ctx.settings.key_path)
    if key_id not in ring.key_ids:
        raise ValidationFailed(f"no key {key_id!r} in {ctx.settings.key_path}")
    if key_id == ring.current_key_id:
        raise ValidationFailed(f"{key_id} is the newest key; rotate first")
    with session_scope(ctx.sessions) as session:
        used = sum(session.scalar(select(func.count()).select_from(spec.model)
                                  .where(spec.model.key_id == key_id, spec.model.content.is_not(None)))
                   for spec in ENCRYPTED)
    if used:
        raise ValidationFailed(f"{used} stored contents still use key {key_id}; run 'b2b-soap keys rotate --resume'")
    keys = {k: v for k, v in ring._keys.items() if k != key_id}  # noqa: SLF001 - KeyRing has no remove
    KeyRing(keys, ring.path).save()
    ctx.__dict__.pop("keyring", None)
