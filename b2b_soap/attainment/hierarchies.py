"""Aspects and aspect hierarchies: add, list, search by name prefix, load from a file.

An aspect is a result type: a grade from a grade set, a mark in a range, or free text,
with the NCYs it applies to. A hierarchy is a named, ordered list of aspects that an
attainment task names ("B2B KS2 2026"); the LA prefixes B2B names so schools find them.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..db import Aspect, AspectHierarchy, HierarchyAspect
from ..errors import NotFound, ValidationFailed
from ..security import audit
from ..tasks import NC_YEARS

__all__ = ["RESULT_TYPES", "AspectSpec", "HierarchySpec", "aspect_to_dict", "hierarchy_to_dict",
           "add_aspect", "list_aspects", "add_hierarchy", "list_hierarchies", "search_hierarchies",
           "find_hierarchy", "hierarchy_aspects", "load_hierarchies", "load_hierarchy_file",
           "read_hierarchies"]

RESULT_TYPES = ("grade", "mark", "text")
_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,50}$")  # AspectCodeType in B2BAttainmentTransfer.xsd


@dataclass
class AspectSpec:
    """An aspect as data, before it is checked and stored."""

    code: str
    name: str
    result_type: str
    grades: list[str] = field(default_factory=list)
    mark_min: float | None = None
    mark_max: float | None = None
    ncys: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        where = f"aspect {self.code!r}"
        found = []
        if not _CODE.match(self.code or ""):
            found.append(f"{where}: code must be 1-50 letters, digits, '_', '.' or '-'")
        if not (self.name or "").strip() or len(self.name) > 200:
            found.append(f"{where}: name must be 1-200 characters")
        if self.result_type not in RESULT_TYPES:
            found.append(f"{where}: type must be one of {', '.join(RESULT_TYPES)}, not {self.result_type!r}")
        if self.result_type == "grade" and not self.grades:
            found.append(f"{where}: a grade aspect needs a grade set")
        if self.result_type == "mark" and (self.mark_min is None or self.mark_max is None
                                           or self.mark_min > self.mark_max):
            found.append(f"{where}: a mark aspect needs min <= max")
        if self.result_type != "grade" and self.grades:
            found.append(f"{where}: only a grade aspect has a grade set")
        unknown = [n for n in self.ncys if n not in NC_YEARS]
        if unknown:
            found.append(f"{where}: unknown NCY {', '.join(unknown)}; allowed: {', '.join(NC_YEARS)}")
        return found

    def values(self) -> dict[str, Any]:
        is_mark = self.result_type == "mark"
        return {"name": self.name.strip(), "result_type": self.result_type,
                "grade_set": list(dict.fromkeys(self.grades)) if self.result_type == "grade" else None,
                "mark_min": self.mark_min if is_mark else None,
                "mark_max": self.mark_max if is_mark else None,
                "ncys": ",".join(n for n in NC_YEARS if n in self.ncys)}


@dataclass
class HierarchySpec:
    name: str
    description: str = ""
    aspects: list[str] = field(default_factory=list)

    def problems(self, known_codes: set[str]) -> list[str]:
        where = f"hierarchy {self.name!r}"
        found = []
        if not (self.name or "").strip() or len(self.name) > 120:
            found.append(f"{where}: name must be 1-120 characters")
        if len(self.description) > 300:
            found.append(f"{where}: description is longer than 300 characters")
        missing = [c for c in self.aspects if c not in known_codes]
        if missing:
            found.append(f"{where}: unknown aspect(s) {', '.join(missing)}")
        repeated = sorted({c for c in self.aspects if self.aspects.count(c) > 1})
        if repeated:
            found.append(f"{where}: aspect(s) listed twice: {', '.join(repeated)}")
        return found


def _split(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    items = value if isinstance(value, list) else re.split(r"[|,]", str(value))
    return [str(item).strip() for item in items if str(item).strip()]


def _number(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{value!r} is not a number") from None


def aspect_to_dict(aspect: Aspect) -> dict[str, Any]:
    return {"id": aspect.id, "code": aspect.code, "name": aspect.name, "type": aspect.result_type,
            "grades": list(aspect.grade_set or []), "min": aspect.mark_min, "max": aspect.mark_max,
            "ncys": _split(aspect.ncys)}


def hierarchy_aspects(session: Session, hierarchy_id: int) -> list[Aspect]:
    """A hierarchy's aspects in their order."""
    return list(session.scalars(
        select(Aspect).join(HierarchyAspect, HierarchyAspect.aspect_id == Aspect.id)
        .where(HierarchyAspect.hierarchy_id == hierarchy_id).order_by(HierarchyAspect.position)))


def hierarchy_to_dict(session: Session, hierarchy: AspectHierarchy) -> dict[str, Any]:
    return {"id": hierarchy.id, "name": hierarchy.name, "description": hierarchy.description,
            "aspects": [a.code for a in hierarchy_aspects(session, hierarchy.id)],
            "created_at": hierarchy.created_at}


def _raise_all(problems: list[str]) -> None:
    if problems:
        raise ValidationFailed("; ".join(problems))


def _save_aspect(session: Session, actor: str, spec: AspectSpec, replace: bool) -> Aspect:
    aspect = session.scalar(select(Aspect).where(Aspect.code == spec.code))
    if aspect is not None and not replace:
        raise ValidationFailed(f"aspect {spec.code} already exists")
    before = aspect_to_dict(aspect) if aspect is not None else None
    if aspect is None:
        aspect = Aspect(code=spec.code)
        session.add(aspect)
    for key, value in spec.values().items():
        setattr(aspect, key, value)
    session.flush()
    after = aspect_to_dict(aspect)
    if before != after:
        audit(session, actor, "aspect.save", "aspect", spec.code, before, after)
    return aspect


def add_aspect(session: Session, actor: str, spec: AspectSpec) -> Aspect:
    """Add a new aspect; ValidationFailed if it is malformed or its code is taken."""
    _raise_all(spec.problems())
    return _save_aspect(session, actor, spec, replace=False)


def list_aspects(session: Session) -> list[Aspect]:
    return list(session.scalars(select(Aspect).order_by(Aspect.code)))


def _set_aspects(session: Session, hierarchy: AspectHierarchy, codes: list[str]) -> None:
    ids = dict(session.execute(select(Aspect.code, Aspect.id).where(Aspect.code.in_(codes))).all())
    session.execute(delete(HierarchyAspect).where(HierarchyAspect.hierarchy_id == hierarchy.id))
    session.add_all(HierarchyAspect(hierarchy_id=hierarchy.id, aspect_id=ids[code], position=i)
                    for i, code in enumerate(codes, start=1))
    session.flush()


def _known_codes(session: Session, extra: Iterable[str] = ()) -> set[str]:
    return set(session.scalars(select(Aspect.code))) | set(extra)


def _save_hierarchy(session: Session, actor: str, spec: HierarchySpec, replace: bool) -> AspectHierarchy:
    hierarchy = session.scalar(select(AspectHierarchy).where(AspectHierarchy.name == spec.name.strip()))
    if hierarchy is not None and not replace:
        raise ValidationFailed(f"aspect hierarchy {spec.name!r} already exists")
    before = hierarchy_to_dict(session, hierarchy) if hierarchy is not None else None
    if hierarchy is None:
        hierarchy = AspectHierarchy(name=spec.name.strip())
        session.add(hierarchy)
    hierarchy.description = spec.description
    session.flush()
    _set_aspects(session, hierarchy, spec.aspects)
    after = hierarchy_to_dict(session, hierarchy)
    if before is None or {**before, "created_at": None} != {**after, "created_at": None}:
        audit(session, actor, "hierarchy.save", "aspect_hierarchy", hierarchy.id,
              _plain(before), _plain(after))
    return hierarchy


def _plain(record: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if record is None else {k: v for k, v in record.items() if k != "created_at"}


def add_hierarchy(session: Session, actor: str, spec: HierarchySpec) -> AspectHierarchy:
    """Add a new hierarchy of existing aspects, in the order given."""
    _raise_all(spec.problems(_known_codes(session)))
    return _save_hierarchy(session, actor, spec, replace=False)


def list_hierarchies(session: Session) -> list[AspectHierarchy]:
    return list(session.scalars(select(AspectHierarchy).order_by(AspectHierarchy.name)))


def search_hierarchies(session: Session, prefix: str) -> list[AspectHierarchy]:
    """Hierarchies whose name starts with ``prefix``, ignoring case ("b2b" finds "B2B KS2 2026")."""
    escaped = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(session.scalars(
        select(AspectHierarchy).where(func.lower(AspectHierarchy.name).like(escaped + "%", escape="\\"))
        .order_by(AspectHierarchy.name)))


def find_hierarchy(session: Session, name_or_id: str | int) -> AspectHierarchy:
    """A hierarchy by id or exact name; NotFound otherwise."""
    hierarchy = None
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        hierarchy = session.get(AspectHierarchy, int(name_or_id))
    if hierarchy is None:
        hierarchy = session.scalar(select(AspectHierarchy).where(AspectHierarchy.name == str(name_or_id)))
    if hierarchy is None:
        raise NotFound(f"no aspect hierarchy {name_or_id!r}")
    return hierarchy


def _aspect_from(data: dict[str, Any]) -> AspectSpec:
    return AspectSpec(code=str(data.get("code") or "").strip(), name=str(data.get("name") or ""),
                      result_type=str(data.get("type") or "").strip().lower(),
                      grades=_split(data.get("grades")),
                      mark_min=_number(data.get("min")), mark_max=_number(data.get("max")),
                      ncys=_split(data.get("ncys")))


def _read_json(text: str) -> tuple[list[AspectSpec], list[HierarchySpec]]:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValidationFailed("a hierarchy file holds an object with 'aspects' and 'hierarchies'")
    aspects = [_aspect_from(item) for item in data.get("aspects", [])]
    hierarchies = [HierarchySpec(name=str(item.get("name") or ""),
                                 description=str(item.get("description") or ""),
                                 aspects=_split(item.get("aspects"))) for item in data.get("hierarchies", [])]
    return aspects, hierarchies


def _read_csv(text: str) -> tuple[list[AspectSpec], list[HierarchySpec]]:
    """One row per aspect in a hierarchy: hierarchy,code,name,type,grades,min,max,ncys."""
    aspects: dict[str, AspectSpec] = {}
    hierarchies: dict[str, HierarchySpec] = {}
    for row in csv.DictReader(text.splitlines()):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        spec = _aspect_from(row)
        if spec.name or spec.result_type:
            aspects[spec.code] = spec
        name = row.get("hierarchy", "")
        if name:
            hierarchies.setdefault(name, HierarchySpec(name=name)).aspects.append(spec.code)
    return list(aspects.values()), list(hierarchies.values())


def read_hierarchies(text: str, fmt: str) -> tuple[list[AspectSpec], list[HierarchySpec]]:
    """Read aspects and hierarchies from JSON or CSV text (``fmt`` "json" or "csv"); nothing is stored."""
    if fmt not in ("json", "csv"):
        raise ValidationFailed(f"hierarchy files are json or csv, not {fmt!r}")
    try:
        return _read_json(text) if fmt == "json" else _read_csv(text)
    except (json.JSONDecodeError, csv.Error, AttributeError) as exc:
        raise ValidationFailed(f"not a valid {fmt} hierarchy file: {exc}") from None


def load_hierarchies(session: Session, actor: str, text: str, fmt: str) -> dict[str, int]:
    """Add or update the aspects and hierarchies of JSON or CSV text, all or nothing.

    Aspects are matched by code and hierarchies by name; a hierarchy in the text gets
    exactly its aspects in its order. Every problem is reported at once.

    Returns:
        How many aspects and hierarchies the text held.
    """
    aspects, hierarchies = read_hierarchies(text, fmt)
    problems = [p for spec in aspects for p in spec.problems()]
    codes = [a.code for a in aspects]
    problems += [f"aspect {c!r} is defined twice" for c in sorted({c for c in codes if codes.count(c) > 1})]
    known = _known_codes(session, codes)
    problems += [p for spec in hierarchies for p in spec.problems(known)]
    _raise_all(problems)
    for spec in aspects:
        _save_aspect(session, actor, spec, replace=True)
    for spec in hierarchies:
        _save_hierarchy(session, actor, spec, replace=True)
    return {"aspects": len(aspects), "hierarchies": len(hierarchies)}


def load_hierarchy_file(session: Session, actor: str, path: str | Path) -> dict[str, int]:
    """:func:`load_hierarchies` from a file: JSON when it ends in ``.json``, else CSV."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValidationFailed(f"cannot read {path}: {exc.strerror}") from None
    return load_hierarchies(session, actor, text, "json" if path.suffix.lower() == ".json" else "csv")
