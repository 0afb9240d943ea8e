"""Suspense: results the import job could not place, their resolution, and the end of a file.

Each item keeps what is still wrong with it in ``detail["problems"]`` (``pupil``,
``aspect``, ``value`` -> message). Resolving matches the pupil, maps the aspect or
discards; an item with nothing left wrong is imported. When no item of a file is open,
the file's import and suspense files are deleted: no pupil data is left on disk.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import Settings
from ..db import Aspect, AttainmentImport, Person, PersonIdentifier, SuspenseItem, utcnow
from ..errors import NotFound, ValidationFailed
from ..licensing import ATTAINMENT_FEATURES, require_features
from ..security import audit
from .directories import remove_file, suspense_file_path, write_attainment_file
from .placing import Placement, check_value, store_results

__all__ = ["suspense_to_dict", "list_suspense", "write_suspense_file", "resolve_suspense",
           "finish_if_resolved", "delete_import_file"]

_FINISHED = ("imported", "done", "deleted")


def suspense_to_dict(item: SuspenseItem) -> dict[str, Any]:
    return {"id": item.id, "file_id": item.file_id, "base_id": item.base_id, "sims_guid": item.sims_guid,
            "upn": item.upn, "forename": item.forename, "surname": item.surname, "dob": item.dob,
            "ncy": item.ncy, "aspect_code": item.aspect_code, "value": item.value,
            "collection_date": item.collection_date, "reason": item.reason, "status": item.status,
            "resolved_by": item.resolved_by, "resolved_at": item.resolved_at}


def list_suspense(session: Session, file_id: str | None = None, status: str | None = "open",
                  limit: int | None = None) -> list[SuspenseItem]:
    """Suspense items, oldest first; ``status`` None lists every status."""
    query = select(SuspenseItem).order_by(SuspenseItem.id)
    if file_id:
        query = query.where(SuspenseItem.file_id == file_id)
    if status:
        query = query.where(SuspenseItem.status == status)
    return list(session.scalars(query.limit(limit)))


def write_suspense_file(settings: Settings, file_id: str, laestab: str, hierarchy: str,
                        items: Iterable[SuspenseItem]) -> None:
    """The file's unplaced results as JSON (0600, 0660 with the group) in the suspense directory, for other tools."""
    document = {"file_id": file_id, "base": laestab, "hierarchy": hierarchy,
                "written_utc": utcnow().isoformat(timespec="seconds") + "Z",
                "items": [_jsonable(suspense_to_dict(item)) for item in items]}
    write_attainment_file(settings, suspense_file_path(settings, file_id),
                          json.dumps(document, indent=1).encode("utf-8"))


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items()
            if k not in ("resolved_by", "resolved_at", "status")}


def _open_item(session: Session, item_id: int) -> SuspenseItem:
    item = session.get(SuspenseItem, item_id)
    if item is None:
        raise NotFound(f"no suspense item {item_id}")
    if item.status != "open":
        raise ValidationFailed(f"suspense item {item_id} is already {item.status}")
    return item


def _siblings(session: Session, item: SuspenseItem, **same: Any) -> list[SuspenseItem]:
    query = select(SuspenseItem).where(SuspenseItem.file_id == item.file_id, SuspenseItem.status == "open")
    for column, value in same.items():
        query = query.where(getattr(SuspenseItem, column) == value)
    return list(session.scalars(query))


def _link_pupil(session: Session, actor: str, item: SuspenseItem, person_id: int) -> None:
    # A manual match, remembered like the matching engine's: the next file links by GUID.
    if item.sims_guid and session.get(PersonIdentifier, (item.base_id, item.sims_guid)) is None:
        session.add(PersonIdentifier(base_id=item.base_id, sims_guid=item.sims_guid, person_id=person_id))
        audit(session, actor, "person_identifier.add", "person", person_id, None,
              {"base_id": item.base_id, "sims_guid": item.sims_guid, "via": f"suspense {item.id}"})


def _apply(items: list[SuspenseItem], key: str, **values: Any) -> None:
    for item in items:
        detail = dict(item.detail or {})
        detail.update(values)
        problems = dict(detail.get("problems") or {})
        problems.pop(key, None)
        if key == "aspect":
            problems.pop("value", None)  # checked again against the mapped aspect
        detail["problems"] = problems
        item.detail = detail


def _place(session: Session, item: SuspenseItem, actor: str) -> bool:
    """Import the item if nothing is left wrong with it; otherwise update its reason."""
    detail = dict(item.detail or {})
    problems = _problems(item)
    aspect = session.get(Aspect, detail["aspect_id"]) if detail.get("aspect_id") else None
    value = item.value
    if aspect is not None:
        value, problem = check_value(aspect, item.value)
        if problem:
            problems["value"] = problem
    detail["problems"] = problems
    item.detail = detail
    item.reason = "; ".join(problems.values())
    if problems:
        return False
    store_results(session, item.base_id, detail.get("hierarchy_id"), item.file_id,
                  [Placement(detail["person_id"], aspect.id, value, item.collection_date, item.ncy)])
    item.status, item.resolved_by, item.resolved_at = "resolved", actor, utcnow()
    return True


def resolve_suspense(session: Session, settings: Settings, actor: str, item_id: int, *,
                     person_id: int | None = None, aspect_code: str | None = None,
                     discard: bool = False) -> dict[str, Any]:
    """Resolve one suspense item, and its open siblings in the same file.

    Args:
        person_id: the pupil is this person; applies to every open item of the file with
            the same SIMS GUID, and remembers base + GUID -> person.
        aspect_code: the result is for this aspect; applies to every open item of the
            file with the same aspect code.
        discard: drop this item only.

    Returns:
        Counts: ``resolved`` (imported), ``discarded``, ``still_open`` (of those touched)
        and ``file_done`` (the file's files were deleted).
    """
    if sum((person_id is not None, aspect_code is not None, discard)) != 1:
        raise ValidationFailed("give exactly one of a person, an aspect or discard")
    item = _open_item(session, item_id)
    before = suspense_to_dict(item)
    if discard:
        item.status, item.resolved_by, item.resolved_at = "discarded", actor, utcnow()
        touched, counts = [], {"resolved": 0, "discarded": 1, "still_open": 0}
    else:
        require_features(session, settings, *ATTAINMENT_FEATURES)
        touched = _map(session, actor, item, person_id, aspect_code)
        placed = sum(_place(session, sibling, actor) for sibling in touched)
        counts = {"resolved": placed, "discarded": 0, "still_open": len(touched) - placed}
    audit(session, actor, "suspense.resolve", "suspense_item", item.id, _jsonable(before),
          {"status": item.status, "person_id": person_id, "aspect_code": aspect_code, **counts})
    counts["file_done"] = finish_if_resolved(session, settings, actor, item.file_id)
    return counts


def _map(session: Session, actor: str, item: SuspenseItem, person_id: int | None,
         aspect_code: str | None) -> list[SuspenseItem]:
    if person_id is not None:
        if session.get(Person, person_id) is None:
            raise NotFound(f"no person {person_id}")
        touched = _siblings(session, item, sims_guid=item.sims_guid) if item.sims_guid else [item]
        _apply(touched, "pupil", person_id=person_id)
        _link_pupil(session, actor, item, person_id)
        return touched
    aspect = session.scalar(select(Aspect).where(Aspect.code == aspect_code))
    if aspect is None:
        raise NotFound(f"no aspect {aspect_code!r}; add it first (b2b-soap aspect add)")
    touched = [item]
    if "aspect" in _problems(item):  # an unknown code is mapped for the whole file
        same_code = _siblings(session, item, aspect_code=item.aspect_code)
        touched = [s for s in same_code if "aspect" in _problems(s)]
    _apply(touched, "aspect", aspect_id=aspect.id, mapped_aspect=aspect.code)
    return touched


def _problems(item: SuspenseItem) -> dict[str, str]:
    return dict((item.detail or {}).get("problems") or {})


def finish_if_resolved(session: Session, settings: Settings, actor: str, file_id: str) -> bool:
    """Delete a file's import and suspense files once none of its items is open."""
    record = session.get(AttainmentImport, file_id)
    if record is None or record.status != "suspense" or _open_items(session, file_id, limit=1):
        return False
    remove_file(record.path)
    remove_file(suspense_file_path(settings, file_id))
    record.status = "done"
    audit(session, actor, "attainment.files_deleted", "virtual_file", file_id, None,
          {"reason": "all suspense resolved"})
    return True


def delete_import_file(session: Session, settings: Settings, actor: str, file_id: str) -> dict[str, Any]:
    """Delete a file still waiting, failed or in suspense from both directories (audited).

    Its open suspense items are discarded. A file in the import directory that no record
    knows can be deleted by its file name.
    """
    record = session.get(AttainmentImport, file_id)
    if record is None:
        return _delete_unknown(settings, actor, session, file_id)
    if record.status in _FINISHED:
        raise ValidationFailed(f"file {file_id} is {record.status}: nothing is left in the directories")
    before = {"status": record.status, "error": record.error, "path": record.path}
    discarded = 0
    for item in _open_items(session, file_id):
        item.status, item.resolved_by, item.resolved_at = "discarded", actor, utcnow()
        discarded += 1
    removed = remove_file(record.path) + remove_file(suspense_file_path(settings, file_id))
    record.status = "deleted"
    after = {"status": "deleted", "files_removed": removed, "suspense_discarded": discarded}
    audit(session, actor, "attainment.delete_file", "virtual_file", file_id, before, after)
    return {"file_id": file_id, **after}


def _open_items(session: Session, file_id: str, limit: int | None = None) -> list[SuspenseItem]:
    return list(session.scalars(select(SuspenseItem).where(SuspenseItem.file_id == file_id,
                                                           SuspenseItem.status == "open").limit(limit)))


def _delete_unknown(settings: Settings, actor: str, session: Session, name: str) -> dict[str, Any]:
    path = settings.import_path / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise NotFound(f"no attainment file {name!r}")
    remove_file(path)
    audit(session, actor, "attainment.delete_file", "file", name, {"path": str(path)}, {"status": "deleted"})
    return {"file_id": name, "status": "deleted", "files_removed": 1, "suspense_discarded": 0}
