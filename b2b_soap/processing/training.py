"""The server's match model as data: train m/u by EM on the LA's own records, set thresholds.

The model (settings, m, u, match rate) is one ``MatchModelRow`` named ``default``; the
processing worker reads it for every file, so a change applies from the next file on.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..db import IncomingRecord, MatchModelRow, Person
from ..errors import ValidationFailed
from ..matching import MatchModel, PopulationIndex, Record, train_model
from ..matching.settings import SettingsError
from ..security import audit
from .model import MODEL_NAME, load_model
from .population import PERSON_COLUMNS, person_record

__all__ = ["describe_model", "train_and_store", "set_thresholds", "reset_model", "THRESHOLDS"]

THRESHOLDS = ("auto_threshold", "possible_threshold", "min_lead_bits", "max_possible")

_INCOMING_COLUMNS = (IncomingRecord.id, IncomingRecord.upn, IncomingRecord.forename, IncomingRecord.middle_names,
                     IncomingRecord.surname, IncomingRecord.dob, IncomingRecord.gender, IncomingRecord.address,
                     IncomingRecord.town, IncomingRecord.postcode)


def describe_model(session: Session) -> dict[str, Any]:
    """Where the model comes from, its thresholds and its match weights per comparison level."""
    row = session.scalar(select(MatchModelRow).where(MatchModelRow.name == MODEL_NAME))
    model = load_model(session)
    weights = {c.name: {level: round(float(bits), 2) for level, bits in zip(c.levels[1:], model.level_bits(i)[1:])}
               for i, c in enumerate(model.settings.comparisons)}
    return {"source": f"stored by {row.created_by} at {row.created_at:%Y-%m-%d %H:%M}" if row else "built-in prior",
            **{name: getattr(model.settings, name) for name in THRESHOLDS},
            "match_rate": round(model.match_rate, 4), "weights": weights}


def _store(session: Session, actor: str, model: MatchModel, action: str, detail: str) -> None:
    row = session.scalar(select(MatchModelRow).where(MatchModelRow.name == MODEL_NAME))
    before = {name: getattr(load_model(session).settings, name) for name in THRESHOLDS}
    if row is None:
        row = MatchModelRow(name=MODEL_NAME, data={})
        session.add(row)
    row.data, row.created_by = model.to_dict(), actor
    after = {name: getattr(model.settings, name) for name in THRESHOLDS}
    audit(session, actor, action, "match_model", MODEL_NAME, before, after, detail=detail)


def train_and_store(session: Session, actor: str, sample: int = 5000, seed: int = 0) -> dict[str, Any]:
    """Estimate m/u by EM from the population and the latest incoming pupils, and store them.

    The current thresholds and rules are kept; only the weights and the match rate change.
    """
    settings = load_model(session).settings
    population = [person_record(row) for row in session.execute(select(*PERSON_COLUMNS).order_by(Person.id))]
    incoming = [Record(str(pid), upn, forename, middle, surname, dob, gender or None, address, town, postcode)
                for pid, upn, forename, middle, surname, dob, gender, address, town, postcode in session.execute(
                    select(*_INCOMING_COLUMNS).where(IncomingRecord.kind == "pupil")
                    .order_by(IncomingRecord.id.desc()).limit(sample))]
    if not population or not incoming:
        raise ValidationFailed("training needs persons in the population and pupils received from schools; "
                               f"there are {len(population)} persons and {len(incoming)} incoming pupils")
    model = train_model(PopulationIndex(population, settings), incoming, settings, seed)
    _store(session, actor, model, "matching.train", f"trained on {len(population)} persons and "
                                                    f"{len(incoming)} incoming pupils")
    return {"persons": len(population), "incoming": len(incoming), "match_rate": round(model.match_rate, 4)}


def set_thresholds(session: Session, actor: str, **values: float | int | None) -> dict[str, Any]:
    """Change the decision thresholds of the stored (or built-in) model; refuses inconsistent values."""
    changes = {name: value for name, value in values.items() if value is not None}
    unknown = set(changes) - set(THRESHOLDS)
    if unknown:
        raise ValidationFailed(f"unknown threshold(s): {', '.join(sorted(unknown))}")
    model = load_model(session)
    try:
        settings = dataclasses.replace(model.settings, **changes)
    except SettingsError as exc:
        raise ValidationFailed("; ".join(exc.problems)) from None
    _store(session, actor, MatchModel(settings, model.m, model.u, model.match_rate), "matching.set",
           "thresholds changed")
    return {name: getattr(settings, name) for name in THRESHOLDS}


def reset_model(session: Session, actor: str) -> None:
    """Forget the stored model: the built-in prior applies again."""
    session.execute(delete(MatchModelRow).where(MatchModelRow.name == MODEL_NAME))
    audit(session, actor, "matching.reset", "match_model", MODEL_NAME)
