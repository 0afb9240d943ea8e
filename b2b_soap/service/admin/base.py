"""The one way to write an admin operation: :func:`admin_operation` (see the package docstring)."""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Any, Callable

from spyne import ServiceBase
from sqlalchemy.orm import Session

from ...config import Settings
from ...context import AppContext
from ...db import User, session_scope
from ...security import audit, check_la_access
from ..runtime import principal, runtime
from ..wcf import operation

__all__ = ["ADMIN_PORT_TYPE", "ADMIN_SERVICE_NAME", "AdminService", "AdminCall", "admin_operation", "assemble"]

ADMIN_PORT_TYPE = "IB2BAdminService"
ADMIN_SERVICE_NAME = "B2BAdminService"


class AdminService:
    """Base of every class of admin operations; :func:`assemble` joins them into one spyne service.

    It is deliberately not a spyne ``ServiceBase``: each ``ServiceBase`` becomes a WSDL binding
    of its own, and WCF clients expect one ``BasicHttpBinding_IB2BAdminService``.
    """


def assemble(classes: list[type[AdminService]]) -> type[ServiceBase]:
    """One ``ServiceBase`` holding every operation of ``classes``."""
    operations = {name: value for cls in classes for name, value in vars(cls).items()
                  if hasattr(value, "_is_rpc")}
    return type("B2BAdminOperations", (ServiceBase,), {
        "__service_name__": ADMIN_SERVICE_NAME, "__port_types__": [ADMIN_PORT_TYPE], **operations})


@dataclass
class AdminCall:
    """What an admin operation gets instead of spyne's context."""

    session: Session  # one transaction: committed when the operation returns, rolled back on error
    user: User  # the authenticated LA user
    ctx: AppContext
    spyne_ctx: Any

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def actor(self) -> str:
        return self.user.username


def admin_operation(process: str, *params: Any, write: bool = False, **rpc_kwargs: Any) -> Callable:
    """Declare an ``IB2BAdminService`` operation.

    Args:
        process: the LA process the caller needs (``security.UNMATCHED``, ``CONFLICTS``, ``REPORTS``,
            ``ADMINISTRATION``).
        params: spyne types of the arguments after ``call``, as for ``@rpc``.
        write: needs Read-Write (else Read); a write is audited as ``admin.<Operation>``.
        rpc_kwargs: ``_returns=`` and other ``@rpc`` options.
    """
    def decorate(func: Callable) -> Callable:
        arg_names = list(inspect.signature(func).parameters)[1:]

        @functools.wraps(func)
        def call_operation(ctx, *args):
            who = principal(ctx)
            rt = runtime(ctx).ctx
            with session_scope(rt.sessions) as session:
                user = session.get(User, who.user_id)
                check_la_access(session, user, process, write)
                result = func(AdminCall(session, user, rt, ctx), *args)
                if write:
                    audit(session, user.username, f"admin.{func.__name__}", "soap", "")
                return result

        return operation(ADMIN_PORT_TYPE, *params, _args=arg_names, **rpc_kwargs)(call_operation)

    return decorate
