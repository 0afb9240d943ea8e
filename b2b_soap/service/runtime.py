"""What an operation needs at hand: the process's runtime and the authenticated caller.

The WSGI front (``service.wsgi``) authenticates and gates every call before spyne sees it
and leaves a :class:`Principal` in the WSGI environ; operations read it with
:func:`principal` and the shared :class:`Runtime` with :func:`runtime`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..context import AppContext
from ..db import Base, User
from ..errors import PermissionDenied
from ..licensing import ACTIVE_LICENCE_KEY, B2B_STUDENT, licence_of, licensed, require_features
from ..security import SCHOOL_PROCESSES, check_school_access, school_grants
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


_SCHOOL_GATE = (select(Base, ACTIVE_LICENCE_KEY, *school_grants(User.id)).select_from(User)
                .outerjoin(Base, Base.id == User.base_id).where(User.id == bindparam("user_id")))


def school_gate(session: Session, ctx: AppContext, user: User) -> Principal:
    """Licence, then the base flag, then group permissions (DESIGN "Permissions"), read in one query."""
    base, licence_key, *granted = session.execute(_SCHOOL_GATE, {"user_id": user.id}).one()
    licensed(licence_of(licence_key, ctx.settings), B2B_STUDENT)
    check_school_access(user, base, {process: "Read-Write" for process, read_write
                                     in zip(SCHOOL_PROCESSES, granted) if read_write})
    return Principal(user.id, user.username, user.kind, base.id, base.laestab)


def la_gate(session: Session, ctx: AppContext, user: User) -> Principal:
    """Licence and an LA account; each admin operation checks its own process permission."""
    require_features(session, ctx.settings, B2B_STUDENT)
    if user.kind != "la":
        raise PermissionDenied("only LA users may use the admin service")
    return Principal(user.id, user.username, user.kind, None, None)
