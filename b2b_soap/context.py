"""What one running process shares: settings, the database, the storage key ring."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .config import Settings
from .db import make_engine, make_sessionmaker

__all__ = ["AppContext"]


@dataclass
class AppContext:
    settings: Settings
    engine: Engine = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.engine = make_engine(self.settings.database_url, self.settings.database.pool_size)
        self.sessions = make_sessionmaker(self.engine)

    @cached_property
    def keyring(self):
        """The storage key ring (AES-GCM); loaded on first use so set-up commands work without it."""
        from .transfer.crypto import KeyRing
        return KeyRing.load(self.settings.key_path)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "AppContext":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
