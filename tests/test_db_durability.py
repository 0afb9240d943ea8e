"""An acknowledged upload survives a power cut: SQLite commits with synchronous=FULL."""
from __future__ import annotations

from sqlalchemy import text

from b2b_soap.db import make_engine


def test_sqlite_commits_are_synchronous_full(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'b2b.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    engine.dispose()
