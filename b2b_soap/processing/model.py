"""Which match model the server uses: the stored one, else a built-in prior.

The pure core trains models (``matching.train_model``); the server needs one before
any file has arrived, and a handful of hand-entered persons is too few for EM. So,
until an LA stores a trained model under :data:`MODEL_NAME`, these m/u values apply:
m from the error rates a school's data typically has, u from a population of a few
hundred thousand persons. Exact name agreement is term-frequency adjusted by the core.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import MatchModelRow
from ..matching import MatchModel, MatchSettings

__all__ = ["MODEL_NAME", "default_model", "load_model"]

MODEL_NAME = "default"

# (m, u) per comparison kind and level label; the null level is always (1, 1).
_PRIOR: dict[str, dict[str, tuple[float, float]]] = {
    "forename": {"exact": (0.86, 0.01), "nickname": (0.04, 0.002), "matches middle name": (0.01, 0.001),
                 "swapped with surname": (0.005, 0.0005), "one edit or jaro-winkler >= high": (0.06, 0.01),
                 "jaro-winkler >= low": (0.015, 0.05), "else": (0.01, 0.93)},
    "surname": {"exact": (0.88, 0.005), "swapped with forename": (0.005, 0.0002),
                "one edit or jaro-winkler >= high": (0.06, 0.01), "jaro-winkler >= low": (0.015, 0.04),
                "else": (0.04, 0.945)},
    "dob": {"exact": (0.92, 0.0002), "day/month swapped": (0.03, 0.00001), "one digit differs": (0.04, 0.003),
            "year differs": (0.01, 0.003), "else": (0.01, 0.994)},
    "gender": {"exact": (0.98, 0.5), "else": (0.02, 0.5)},
    "postcode": {"exact": (0.82, 0.0005), "same sector": (0.03, 0.005), "same district": (0.03, 0.03),
                 "else": (0.12, 0.9645)},
    "address": {"same address and postcode": (0.75, 0.0003), "same address": (0.05, 0.001),
                "same postcode": (0.04, 0.002), "similar address": (0.03, 0.002), "exact": (0.8, 0.0005),
                "similar": (0.07, 0.002), "same sector": (0.02, 0.01), "same district": (0.02, 0.05),
                "else": (0.09, 0.93)},
    "town": {"exact": (0.9, 0.2), "else": (0.1, 0.8)},
    "upn": {"exact": (0.93, 0.00001), "one character or transposition": (0.02, 0.0001),
            "different permanent": (0.01, 0.95), "else": (0.04, 0.05)},
}


def _level_prior(kind: str, position: int, label: str, count: int) -> tuple[float, float]:
    """A known level's prior, else a neutral guess by position (best, middle or else)."""
    known = _PRIOR.get(kind, {}).get(label)
    if known:
        return known
    if position == 1:
        return 0.85, 0.01
    if position == count - 1:
        return 0.05, 0.9
    return 0.1 / max(count - 3, 1), 0.05 / max(count - 3, 1)


def default_model(settings: MatchSettings | None = None) -> MatchModel:
    """The built-in prior model for ``settings`` (default settings if omitted)."""
    settings = settings or MatchSettings()
    m, u = [], []
    for comparison in settings.comparisons:
        levels = comparison.levels
        pairs = [(1.0, 1.0)] + [_level_prior(comparison.kind, i, label, len(levels))
                                for i, label in enumerate(levels) if i]
        m.append(tuple(p[0] for p in pairs))
        u.append(tuple(p[1] for p in pairs))
    return MatchModel(settings, tuple(m), tuple(u), 0.9)


def load_model(session: Session) -> MatchModel:
    """The stored model named :data:`MODEL_NAME`, or the built-in prior."""
    data = session.scalar(select(MatchModelRow.data).where(MatchModelRow.name == MODEL_NAME))
    return MatchModel.from_dict(data) if data else default_model()
