"""System defaults: named values LA admins edit, seeded from the config file."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .config import Settings
from .db import SystemDefault, utcnow
from .errors import NotFound, ValidationFailed
from .security import audit

__all__ = ["DEFINITIONS", "SystemDefaults", "load_defaults", "seed_defaults", "set_default", "list_defaults"]


@dataclass(frozen=True)
class Definition:
    name: str
    description: str
    kind: str  # int | bool
    config_key: str
    low: int = 0
    high: int = 0


DEFINITIONS = {d.name: d for d in (
    Definition("B2B_S_AGE", "unmatched incoming pupils older than this are not listed", "int", "b2b_s_age", 0, 120),
    Definition("CARER_MIN", "youngest age considered as a carer", "int", "carer_min", 0, 120),
    Definition("B2BHCACHE", "an already imported value raises no second conflict (T/F)", "bool", "b2bhcache"),
    Definition("GUIDMATCH", "a known base + SIMS GUID links first (T/F)", "bool", "guidmatch"),
    Definition("FILE_RETENTION_DAYS", "processed and rejected files older than this are deleted", "int",
               "file_retention_days", 1, 3650),
)}


@dataclass(frozen=True)
class SystemDefaults:
    b2b_s_age: int
    carer_min: int
    b2bhcache: bool
    guidmatch: bool
    file_retention_days: int


def _parse(definition: Definition, raw: str) -> int | bool:
    text = raw.strip()
    if definition.kind == "bool":
        if text.upper() in ("T", "TRUE"):
            return True
        if text.upper() in ("F", "FALSE"):
            return False
        raise ValidationFailed(f"{definition.name} must be T or F, not {raw!r}")
    try:
        value = int(text)
    except ValueError:
        raise ValidationFailed(f"{definition.name} must be a whole number, not {raw!r}") from None
    if not definition.low <= value <= definition.high:
        raise ValidationFailed(f"{definition.name} must be between {definition.low} and {definition.high}")
    return value


def _render(value: int | bool) -> str:
    return ("T" if value else "F") if isinstance(value, bool) else str(value)


def seed_defaults(session: Session, settings: Settings) -> None:
    """Insert every default missing from the database with the config file's value."""
    present = set(session.scalars(select(SystemDefault.name)))
    for d in DEFINITIONS.values():
        if d.name not in present:
            value = getattr(settings.defaults, d.config_key)
            session.add(SystemDefault(name=d.name, value=_render(value), updated_by="config"))


def load_defaults(session: Session, settings: Settings) -> SystemDefaults:
    """Current values: the database's where set, else the config file's."""
    stored = dict(session.execute(select(SystemDefault.name, SystemDefault.value)).all())
    values = {}
    for d in DEFINITIONS.values():
        values[d.config_key] = (_parse(d, stored[d.name]) if d.name in stored
                                else getattr(settings.defaults, d.config_key))
    return SystemDefaults(**values)


def list_defaults(session: Session, settings: Settings) -> list[dict]:
    current = load_defaults(session, settings)
    return [{"name": d.name, "value": _render(getattr(current, d.config_key)), "description": d.description}
            for d in DEFINITIONS.values()]


def set_default(session: Session, actor: str, name: str, raw: str) -> str:
    """Validate and store one default; audited. Returns the stored text."""
    definition = DEFINITIONS.get(name.upper())
    if definition is None:
        raise NotFound(f"no system default {name!r}; known: {', '.join(DEFINITIONS)}")
    value = _render(_parse(definition, raw))
    row = session.get(SystemDefault, definition.name)
    before = row.value if row else None
    if row is None:
        row = SystemDefault(name=definition.name, value=value)
        session.add(row)
    row.value, row.updated_at, row.updated_by = value, utcnow(), actor
    audit(session, actor, "defaults.set", "system_default", definition.name,
          {"value": before}, {"value": value})
    return value


