"""MatchModel: trained m/u values, match rate and settings, as JSON data."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from b2b_soap.matching._coding import Coded
from b2b_soap.matching.index import PopulationIndex
from b2b_soap.matching.settings import ComparisonSettings, MatchSettings

__all__ = ["MatchModel", "ModelError"]

_FORMAT = "b2b-soap-match-model/1"
# Columns whose exact agreement is weighted by the value's frequency (tf_adjust).
_TF_COLUMN = {"forename": "fn", "surname": "sn"}


class ModelError(ValueError):
    """A model file or dict that cannot be used."""


@dataclass(frozen=True)
class MatchModel:
    """Fellegi–Sunter parameters.

    Args:
        settings: the settings the model was trained with.
        m: per comparison, probability of each level among true matches
            (index 0, the null level, is 1.0).
        u: the same among non-matches (from random pairs).
        match_rate: share of incoming records that have a partner in the
            population; the prior for one pair is ``match_rate / population size``,
            so a model trained on one population works on another.
    """

    settings: MatchSettings
    m: tuple[tuple[float, ...], ...]
    u: tuple[tuple[float, ...], ...]
    match_rate: float

    def __post_init__(self) -> None:
        problems = []
        if len(self.m) != len(self.settings.comparisons) or len(self.u) != len(self.settings.comparisons):
            problems.append("m and u need one row per comparison")
        for comparison, m_row, u_row in zip(self.settings.comparisons, self.m, self.u):
            if len(m_row) != len(comparison.levels) or len(u_row) != len(comparison.levels):
                problems.append(f"{comparison.name}: need {len(comparison.levels)} levels")
            elif min(m_row) <= 0 or min(u_row) <= 0:
                problems.append(f"{comparison.name}: m and u must be > 0")
        if not 0 < self.match_rate <= 1:
            problems.append("match_rate must be in (0, 1]")
        if problems:
            raise ModelError("; ".join(problems))
        bits = [np.log2(np.asarray(m_row) / np.asarray(u_row)) for m_row, u_row in zip(self.m, self.u)]
        object.__setattr__(self, "_bits", bits)

    def level_bits(self, column: int) -> np.ndarray:
        """Match weight (bits) of each level of comparison ``column``; null is 0."""
        return self._bits[column]  # type: ignore[attr-defined]

    def prior_bits(self, population_size: int) -> float:
        """log2 prior odds that a given population person is an incoming record's partner."""
        prior = min(self.match_rate / max(population_size, 1), 0.5)
        return math.log2(prior / (1 - prior))

    def pair_bits(self, index: PopulationIndex, batch: Coded, left: np.ndarray, right: np.ndarray,
                  levels: np.ndarray) -> np.ndarray:
        """Match weight per pair and comparison, term-frequency adjusted where set."""
        bits = np.zeros(levels.shape, np.float64)
        for column, comparison in enumerate(self.settings.comparisons):
            bits[:, column] = self.level_bits(column)[levels[:, column]]
            field = _TF_COLUMN.get(comparison.kind)
            if comparison.tf_adjust and field:
                exact = levels[:, column] == 1
                tf = index.term_frequency(field)[index.cols[field][right[exact]]]
                tf = np.maximum(tf, 1.0 / max(len(index), 1))
                bits[exact, column] = np.log2(self.m[column][1] / tf)
        return bits

    def to_dict(self) -> dict[str, Any]:
        """Plain data, JSON-serialisable."""
        return {"format": _FORMAT, "settings": self.settings.to_dict(), "match_rate": self.match_rate,
                "m": {c.name: list(row) for c, row in zip(self.settings.comparisons, self.m)},
                "u": {c.name: list(row) for c, row in zip(self.settings.comparisons, self.u)},
                "levels": {c.name: list(c.levels) for c in self.settings.comparisons}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchModel:
        """Inverse of :meth:`to_dict`."""
        if data.get("format") != _FORMAT:
            raise ModelError(f"not a {_FORMAT} model")
        try:
            settings = MatchSettings.from_dict(data["settings"])
            stored = data.get("levels", {})
            return cls(settings, tuple(_by_level(c, data["m"][c.name], stored) for c in settings.comparisons),
                       tuple(_by_level(c, data["u"][c.name], stored) for c in settings.comparisons),
                       float(data["match_rate"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ModelError(f"bad model: {error}") from error

    def save(self, path: Path | str) -> None:
        """Write the model as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path | str) -> MatchModel:
        """Read a model written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ModelError(f"cannot read model {path}: {error}") from error
        return cls.from_dict(data)


def _by_level(comparison: ComparisonSettings, values: list, stored: dict[str, list[str]]) -> tuple[float, ...]:
    """A comparison's m or u row in today's levels. A model saved before a level was added scores
    that level as it scored it then: as "else"."""
    labels = stored.get(comparison.name, comparison.levels)
    if list(labels) == list(comparison.levels):
        return tuple(float(x) for x in values)
    by_label = dict(zip(labels, map(float, values)))
    return tuple(by_label.get(label, by_label["else"]) for label in comparison.levels)
