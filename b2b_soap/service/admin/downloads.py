"""Admin operations for LA -> school downloads."""
from __future__ import annotations

from spyne import ByteArray, Unicode

from ... import downloads
from ...security import ADMINISTRATION
from ..types import StringArray
from .base import AdminCall, AdminService, admin_operation

__all__ = ["DownloadsAdmin", "SERVICE"]


class DownloadsAdmin(AdminService):
    @admin_operation(ADMINISTRATION, StringArray, Unicode, Unicode, ByteArray, write=True, _returns=StringArray)
    def QueueDownload(call: AdminCall, laestabs, fileName, dataType, content):
        """Queue one file for each base; returns the download ids in the order of ``laestabs``."""
        rows = downloads.queue_download(call.session, call.ctx.keyring, call.actor, list(laestabs or []),
                                        fileName or "", b"".join(content or []), dataType or "Student")
        return [row.id for row in rows]


SERVICE = DownloadsAdmin
