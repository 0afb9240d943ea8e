"""What an operation needs at hand: the process's runtime and the authenticated caller.

The WSGI front (``service.wsgi``) authenticates and gates every call before spyne sees it
and leaves a :class:`Principal` in the WSGI environ; operations read it with
:func:`principal` and the shared :class:`Runtime` with :func:`runtime`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ..context import AppContext
from ..db import Base, User
from ..errors import PermissionDenied
from ..licensing import B2B_STUDENT, require_features
from ..security import check_school_access, user_permissions
from ..security.auth import VerificationCache
from ..files import FileStore

__all__ = ["Runtime", "Principal", "runtime", "principal", "school_gate", "la_gate"]

PRINCIPAL_KEY = "b2b.principal"


@dataclass
class Runtime:
    """One per process: the app context, the upload store, the password verification cache."""

    ctx: AppContext
    store: FileStore = field(init=False)
    verifications: VerificationCache = field(default_factory=VerificationCache)

    def __post_init__(self) -> None:
        self.store = FileStore(self.ctx)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    user_id: int
    username: str
    kind: str  # "school" or "la"
    base_id: int | None
    laestab: str | None


def runtime(spyne_ctx) -> Runtime:
    return spyne_ctx.app.runtime


def principal(spyne_ctx) -> Principal:
    return spyne_ctx.transport.req_env[PRINCIPAL_KEY]


def school_gate(session: Session, ctx: AppContext, user: User) -> Principal:
    """Licence, then the base flag, then group permissions (DESIGN "Permissions")."""
    require_features(session, ctx.settings, B2B_STUDENT)
    base = session.get(Base, user.base_id) if user.base_id is not None else None
    check_school_access(user, base, user_permissions(session, user.id))
    return Principal(user.id, user.username, user.kind, base.id, base.laestab)


def la_gate(session: Session, ctx: AppContext, user: User) -> Principal:
    """Licence and an LA account; each admin operation checks its own process permission."""
    require_features(session, ctx.settings, B2B_STUDENT)
    if user.kind != "la":
        raise PermissionDenied("only LA users may use the admin service")
    return Principal(user.id, user.username, user.kind, None, None)
