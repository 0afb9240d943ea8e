"""A file becomes ``Rejected``: its errors (line, column, message; never a value) and the alert."""
from __future__ import annotations

from sqlalchemy.orm import Session

from .. import alerts
from ..config import Settings
from ..db import VirtualFile
from ..transfer import FileError

__all__ = ["reject", "file_errors"]

_ERRORS_IN_ALERT = 5


def file_errors(errors: list[FileError]) -> list[dict]:
    return [{"line": e.line, "column": e.column, "message": e.message} for e in errors]


def reject(session: Session, settings: Settings, vf: VirtualFile, laestab: str, errors: list[FileError]) -> None:
    """Mark ``vf`` Rejected with ``errors`` and raise the "B2B file rejected" alert."""
    vf.status, vf.errors = "Rejected", file_errors(errors)
    shown = "\n".join(f"line {e['line']}, column {e['column']}: {e['message']}" for e in vf.errors[:_ERRORS_IN_ALERT])
    more = len(vf.errors) - _ERRORS_IN_ALERT
    how = f"imported by {vf.imported_by}" if vf.source == "import" else "uploaded by the school"
    alerts.raise_alert(
        session, settings, alerts.FILE_REJECTED, f"{alerts.FILE_REJECTED}: {laestab} {vf.file_name}",
        f"The {vf.data_type} file {vf.file_name!r} (file id {vf.id}) from base {laestab}, {how}, "
        f"was rejected:\n\n{shown}" + (f"\n... and {more} more" if more > 0 else ""))
