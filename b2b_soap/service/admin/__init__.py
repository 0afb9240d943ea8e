"""The admin service ``IB2BAdminService`` at ``/B2BAdmin.svc``, for LA users.

Several modules each contribute operations. To add one:

1. Write ``b2b_soap/service/admin/<topic>.py`` with one class and a module-level ``SERVICE``::

       from spyne import Unicode
       from ...security import UNMATCHED
       from ..types import ArrayOfstring  # or your own ComplexModel with __namespace__ = TNS
       from .base import AdminCall, AdminService, admin_operation

       class ReviewAdmin(AdminService):
           @admin_operation(UNMATCHED, Unicode, write=True, _returns=Unicode)
           def RejectIncoming(call: AdminCall, incomingId):
               record = reject_incoming(call.session, call.user, incomingId)   # domain function
               return record.status

       SERVICE = ReviewAdmin

2. Import its ``SERVICE`` below and add it to ``ADMIN_SERVICES``, run ``python -m b2b_soap.service.snapshot``
   and commit the changed ``b2b_soap/wsdl/B2BAdmin.wsdl`` (the drift test compares served and committed).

What :func:`admin_operation` does for you: the WSGI front has already authenticated the
caller (UsernameToken or Basic, lockout, audit of failures) and checked the licence and that
the account is an LA user. The decorator then opens one transaction (``call.session``,
committed on return, rolled back on any error), checks ``check_la_access(process, write)`` →
``PermissionDenied``, calls your function with an :class:`AdminCall` (session, user, ctx,
settings, actor) and the arguments, and audits write operations as ``admin.<Operation>``.
Raise ``b2b_soap.errors`` (NotFound, ValidationFailed, ...): they become the typed
``B2BFault``; anything else becomes ``InternalError`` with an incident id. Argument names are
the wire names (use the WSDL's camelCase); the result is ``{Operation}Result``; return ``None``
for operations without ``_returns``.
"""
from __future__ import annotations

from . import attainment, downloads, jobs, review, tasks
from .base import ADMIN_PORT_TYPE, ADMIN_SERVICE_NAME, AdminCall, AdminService, admin_operation, assemble

__all__ = ["ADMIN_SERVICES", "ADMIN_PORT_TYPE", "ADMIN_SERVICE_NAME", "AdminCall", "AdminService",
           "admin_operation"]

# The order is the order of the operations in the WSDL.
ADMIN_SERVICES = [assemble([downloads.SERVICE, review.SERVICE, tasks.SERVICE, jobs.SERVICE, attainment.SERVICE])]
