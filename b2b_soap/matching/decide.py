"""Decisions per incoming record: auto, possible (ranked, at most N) or none.

Rules on top of the scores: a valid UPN that points to exactly one person
matches automatically unless the demographics contradict it strongly; a person whose
valid permanent UPN differs from the record's is never matched automatically, and is
offered for review when the demographics alone would have matched; nor is a person
born a generation apart (a parent of a child who shares their names and home), nor
one whose names alone agree, with no date of birth, home or UPN to back them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from b2b_soap.matching._coding import Coded
from b2b_soap.matching.comparisons import comparison_levels, generation_apart
from b2b_soap.matching.index import PopulationIndex
from b2b_soap.matching.model import MatchModel
from b2b_soap.matching.records import Record
from b2b_soap.matching.settings import COMPARISON_KINDS, DIFFERENT_PERMANENT_UPN, MatchSettings

__all__ = ["ComparisonScore", "Candidate", "Decision", "match_records"]

AUTO, POSSIBLE, NONE = "auto", "possible", "none"
# Kinds whose "else" level counts as a contradiction of a UPN match.
_CONTRADICTING = ("forename", "surname", "dob", "gender")
# Levels that tie a candidate to the record beyond its names: see _anchored.
_ANCHORS = {"dob": COMPARISON_KINDS["dob"][1:],
            "address": ("same address and postcode", "same address", "same postcode", "similar address"),
            "postcode": ("exact",), "upn": ("exact", "one character or transposition")}


@dataclass(frozen=True, slots=True)
class ComparisonScore:
    """One comparison's part of a candidate's score."""

    name: str
    level: str
    bits: float


@dataclass(frozen=True, slots=True)
class Candidate:
    """A population person proposed for an incoming record, with its explanation.

    ``match_weight`` = ``prior_bits`` + the sum of ``comparisons[*].bits``.
    """

    la_id: str
    probability: float
    match_weight: float
    prior_bits: float
    comparisons: tuple[ComparisonScore, ...]
    upn_match: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one incoming record; candidates are best first."""

    record_id: str
    decision: str
    candidates: tuple[Candidate, ...]
    reason: str

    @property
    def match(self) -> Candidate | None:
        """The automatically matched candidate, if any."""
        return self.candidates[0] if self.decision == AUTO else None


def _probability(bits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-np.clip(bits, -1000, 1000)))


class _Scored:
    """All candidate pairs of a batch with levels and weights, grouped by record."""

    def __init__(self, model: MatchModel, index: PopulationIndex, batch: Coded,
                 left: np.ndarray, right: np.ndarray) -> None:
        settings = model.settings
        levels = comparison_levels(settings, index, batch, left, right)
        bits = model.pair_bits(index, batch, left, right, levels)
        self.prior = model.prior_bits(len(index))
        total = bits.sum(axis=1) + self.prior
        order = np.lexsort((-total, left))
        self.left, self.right = left[order], right[order]
        self.levels, self.bits, self.total = levels[order], bits[order], total[order]
        self.probability = _probability(self.total)
        # the evidence of every comparison but the UPN; pairs whose valid permanent UPNs differ,
        # and those of them the demographics alone would match
        self.demographic_bits = self.total - self.prior
        self.upn_differs = np.zeros(len(left), bool)
        for col, comparison in enumerate(settings.comparisons):
            if comparison.kind == "upn":
                self.upn_differs = self.levels[:, col] == comparison.levels.index(DIFFERENT_PERMANENT_UPN)
                self.demographic_bits = self.demographic_bits - self.bits[:, col]
        self.anchored = _anchored(settings, self.levels)
        self.generation = generation_apart(settings, index, batch, self.left, self.right, self.levels)
        self.held = self.upn_differs & (_probability(self.demographic_bits + self.prior) >= settings.auto_threshold)
        self.start = np.searchsorted(self.left, np.arange(len(batch) + 1))
        self.model, self.index = model, index

    def rows(self, record: int) -> range:
        return range(int(self.start[record]), int(self.start[record + 1]))

    def candidate(self, pair: int, upn_match: bool = False) -> Candidate:
        comparisons = tuple(
            ComparisonScore(c.name, c.levels[self.levels[pair, col]], round(float(self.bits[pair, col]), 3))
            for col, c in enumerate(self.model.settings.comparisons))
        return Candidate(self.index.ids[self.right[pair]], float(self.probability[pair]),
                         round(float(self.total[pair]), 3), round(self.prior, 3), comparisons, upn_match)

    def contradictions(self, pair: int) -> list[str]:
        return [c.name for col, c in enumerate(self.model.settings.comparisons)
                if c.kind in _CONTRADICTING and c.levels[self.levels[pair, col]] == "else"]


def _anchored(settings: MatchSettings, levels: np.ndarray) -> np.ndarray:
    """Pairs with evidence beyond the names and gender: a date of birth compared, the same home, or
    the same or a mistyped UPN. Names alone, however rare, are shared by persons not in the population."""
    found = np.zeros(len(levels), bool)
    for col, comparison in enumerate(settings.comparisons):
        if comparison.kind in _ANCHORS:
            found |= np.isin(levels[:, col], [comparison.levels.index(label) for label in _ANCHORS[comparison.kind]])
    return found


def _decide(scored: _Scored, record: int, record_id: str, upn_rows: list[int]) -> Decision:
    settings = scored.model.settings
    pairs = list(scored.rows(record))
    probability = scored.probability[pairs[0]:pairs[-1] + 1] if pairs else np.zeros(0)
    offered = [p for p, prob in zip(pairs, probability) if prob >= settings.possible_threshold or scored.held[p]]
    if len(upn_rows) == 1:
        upn_pair = next((p for p in pairs if scored.right[p] == upn_rows[0]), None)
        if upn_pair is not None:
            against = scored.contradictions(upn_pair)
            # disagreements outweighed by the other fields' agreement are typos
            strong = ("dob" in against or len(against) >= 2) and scored.demographic_bits[upn_pair] < 0
            if not strong:
                return Decision(record_id, AUTO, (scored.candidate(upn_pair, True),), "UPN matches")
            others = [scored.candidate(p) for p in offered if p != upn_pair]
            chosen = (scored.candidate(upn_pair, True), *others[:settings.max_possible - 1])
            return Decision(record_id, POSSIBLE, chosen,
                            "UPN matches but demographics contradict: " + ", ".join(against))
    if not offered:
        return Decision(record_id, NONE, (), "no candidate above the possible threshold")
    best = offered[0]
    chosen = tuple(scored.candidate(p) for p in offered[:settings.max_possible])
    if scored.upn_differs[best]:
        return Decision(record_id, POSSIBLE, chosen, "valid permanent UPNs differ")
    if not scored.anchored[best]:
        return Decision(record_id, POSSIBLE, chosen, "names alone: no date of birth, home or UPN agrees")
    if scored.generation[best]:
        return Decision(record_id, POSSIBLE, chosen, "dates of birth a generation apart")
    lead = scored.total[best] - scored.total[pairs[1]] if len(pairs) > 1 else float("inf")
    if probability[0] >= settings.auto_threshold and lead >= settings.min_lead_bits:
        return Decision(record_id, AUTO, (scored.candidate(best),),
                        f"probability {probability[0]:.4f}, lead {min(lead, 99.0):.1f} bits")
    reason = ("best candidate below the auto threshold" if probability[0] < settings.auto_threshold
              else f"second candidate within {settings.min_lead_bits:g} bits")
    return Decision(record_id, POSSIBLE, chosen, reason)


def match_records(index: PopulationIndex, records: Sequence[Record], model: MatchModel) -> list[Decision]:
    """Decide every incoming record against the population.

    Args:
        index: the population, built once and reused.
        records: the incoming batch.
        model: trained m/u values and the settings (thresholds) to apply.
    """
    batch = index.encode(records)
    left, right = index.candidate_pairs(batch)
    scored = _Scored(model, index, batch, left, right)
    upn_map = index.upn_rows(batch.cols["upn"])
    upn_codes = batch.cols["upn"].tolist()
    return [_decide(scored, i, record_id, upn_map.get(upn_codes[i], []))
            for i, record_id in enumerate(batch.ids)]
