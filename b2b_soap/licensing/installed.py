"""Installed licences: install, show, and the current licence that gates the service."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..config import Settings
from ..db import Licence
from ..errors import NotLicensed, ValidationFailed
from ..security import audit
from .keys import B2B_ATTAINMENT, B2B_STUDENT, PULSE, LicenceError, LicenceInfo, verify_licence

__all__ = ["install_licence", "current_licence", "require_features", "ATTAINMENT_FEATURES",
           "ACTIVE_LICENCE_KEY", "licence_of", "licensed"]

ATTAINMENT_FEATURES = (B2B_STUDENT, PULSE, B2B_ATTAINMENT)


def install_licence(session: Session, settings: Settings, actor: str, key: str) -> LicenceInfo:
    """Verify and store a key as the active licence; a refused key changes nothing."""
    try:
        info = verify_licence(key, settings.licence.public_key, settings.la.number)
    except LicenceError as exc:
        raise ValidationFailed(f"licence refused ({exc.reason}): {exc}") from None
    session.execute(update(Licence).where(Licence.active.is_(True)).values(active=False))
    session.add(Licence(key=key.strip(), la_number=info.la_number, features=",".join(info.features),
                        expires_at=datetime.combine(info.expires, datetime.min.time()), installed_by=actor))
    audit(session, actor, "licence.install", "licence", info.la_number, None,
          {"features": list(info.features), "expires": info.expires.isoformat()})
    return info


_ACTIVE_KEY = select(Licence.key).where(Licence.active.is_(True)).order_by(Licence.id.desc()).limit(1)
# The key of the active licence (NULL without one), for a caller to select with other columns.
ACTIVE_LICENCE_KEY = _ACTIVE_KEY.scalar_subquery()


def licence_of(key: str | None, settings: Settings, today: date | None = None) -> LicenceInfo | None:
    """What an installed key grants, verified now (expiry, public key, LA); None if it is not valid."""
    if key is None:
        return None
    try:
        return verify_licence(key, settings.licence.public_key, settings.la.number, today)
    except LicenceError:
        return None


def current_licence(session: Session, settings: Settings, today: date | None = None) -> LicenceInfo | None:
    """The active licence, re-verified now (expiry, public key, LA); None if there is no valid one."""
    return licence_of(session.scalar(_ACTIVE_KEY), settings, today)


def require_features(session: Session, settings: Settings, *features: str) -> LicenceInfo:
    """The current licence if it has every feature; otherwise NotLicensed saying what is missing."""
    return licensed(current_licence(session, settings), *features)


def licensed(info: LicenceInfo | None, *features: str) -> LicenceInfo:
    """``info`` if it is a licence with every feature; otherwise NotLicensed saying what is missing."""
    if info is None:
        raise NotLicensed("this server has no valid B2B Student licence; ask the LA to install one")
    missing = [f for f in features if f not in info.features]
    if missing:
        raise NotLicensed("the LA's licence does not include " + ", ".join(missing))
    return info
