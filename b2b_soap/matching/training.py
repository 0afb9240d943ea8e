"""Training: u from random pairs, m (and the match rate) by EM on blocked pairs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from b2b_soap.matching._coding import Coded
from b2b_soap.matching.comparisons import comparison_levels, generation_apart
from b2b_soap.matching.em import distinct_patterns, expectation_maximisation
from b2b_soap.matching.index import PopulationIndex
from b2b_soap.matching.model import MatchModel
from b2b_soap.matching.records import Record
from b2b_soap.matching.settings import MatchSettings

__all__ = ["train_model", "estimate_u"]


def estimate_u(settings: MatchSettings, index: PopulationIndex, batch: Coded, seed: int = 0
               ) -> list[list[float]]:
    """u per comparison level from random (incoming, population) pairs.

    A pseudo-count of one per level keeps rare levels (e.g. day/month swap)
    from getting an infinite weight.
    """
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero(index.active)
    n = min(settings.u_sample_pairs, len(batch) * len(rows))  # no more pairs than exist
    left = rng.integers(0, len(batch), n)
    right = rows[rng.integers(0, len(rows), n)]
    levels = comparison_levels(settings, index, batch, left, right)
    u = []
    for column, comparison in enumerate(settings.comparisons):
        counts = np.bincount(levels[:, column], minlength=len(comparison.levels)).astype(np.float64)
        counts[1:] += 1.0
        u.append([1.0] + (counts[1:] / counts[1:].sum()).tolist())
    return u


def _m_start(settings: MatchSettings) -> list[list[float]]:
    """Starting m: most matches agree exactly, the rest spread over lower levels."""
    rows = []
    for comparison in settings.comparisons:
        others = len(comparison.levels) - 2
        rows.append([1.0, 0.9] + [0.1 / others] * others)
    return rows


def _session(settings: MatchSettings, index: PopulationIndex, batch: Coded, rule: str,
             fixed: tuple[str, ...], u_start: list[list[float]]) -> tuple[list[list[float]], float, set[int]]:
    """EM on the pairs of one blocking rule; returns m, the share of incoming
    records with a partner *among this rule's pairs*, and the columns estimated."""
    left, right = index.rule_pairs(rule, batch, settings.max_block_size)
    estimated = {col for col, c in enumerate(settings.comparisons) if c.name not in fixed}
    if len(left) == 0:
        return _m_start(settings), 0.0, set()
    levels = comparison_levels(settings, index, batch, left, right)
    # a parent and a child with the same names and home look like one person on every field
    # but the DOB; left in, they teach EM that a match's DOB is often far off
    levels = levels[~generation_apart(settings, index, batch, left, right, levels)]
    pairs = len(levels)
    if pairs == 0:
        return _m_start(settings), 0.0, set()
    for col in range(levels.shape[1]):
        if col not in estimated:
            levels[:, col] = 0  # null: no part in EM
    patterns, counts = distinct_patterns(levels)
    result = expectation_maximisation(
        patterns.astype(np.int64), counts, [len(c.levels) for c in settings.comparisons],
        _m_start(settings), u_start, rate_start=min(0.5, len(batch) / max(pairs, 1)),
        max_iterations=settings.em_max_iterations, tolerance=settings.em_tolerance, fix_u=True)
    return result.m, result.match_rate * pairs / len(batch), estimated


def train_model(index: PopulationIndex, incoming: Sequence[Record] | Coded,
                settings: MatchSettings | None = None, seed: int = 0) -> MatchModel:
    """Estimate a model from a population and a batch of incoming records.

    u comes from random pairs; m from EM sessions (``settings.training_sessions``,
    u held at the random-pair values, as splink does by default);
    the match rate from the first session that has pairs, corrected for the
    matches its blocking rule cannot see.

    Args:
        index: the population.
        incoming: the records to be matched (or the same, already coded).
        settings: defaults to the index's settings.
        seed: random seed of the u sample.
    """
    settings = settings or index.settings
    batch = incoming if isinstance(incoming, Coded) else index.encode(incoming)
    if len(batch) == 0 or len(index) == 0:
        raise ValueError("training needs incoming records and a population")
    u_random = estimate_u(settings, index, batch, seed)
    sums = [np.zeros(len(c.levels)) for c in settings.comparisons]
    sessions = [0] * len(settings.comparisons)
    rates = []
    for rule, fixed in settings.training_sessions:
        m, rate, estimated = _session(settings, index, batch, rule, fixed, u_random)
        for col in estimated:
            sums[col] += np.asarray(m[col])
            sessions[col] += 1
        if estimated:  # a rule without pairs (e.g. DOB for contacts, who have none) says nothing of the rate
            rates.append((rate, fixed))
    start = _m_start(settings)
    m_final = [(sums[col] / sessions[col]).tolist() if sessions[col] else start[col]
               for col in range(len(settings.comparisons))]
    rate, fixed = rates[0] if rates else (0.9, ())
    # a rule on field F only sees the matches that agree exactly on F
    for col, comparison in enumerate(settings.comparisons):
        if comparison.name in fixed:
            rate /= max(m_final[col][1], 0.05)
    m = tuple(tuple(max(x, 1e-6) for x in row) for row in m_final)
    return MatchModel(settings, m, tuple(map(tuple, u_random)), float(np.clip(rate, 0.01, 1.0)))
