"""Fellegi–Sunter m/u estimation: two-class EM over distinct comparison patterns.

Candidate pairs collapse to a few hundred distinct level patterns, so EM runs on
(pattern, count) rows.  m, u and the match rate are all free during EM; holding
u fixed from random pairs drove EM to a degenerate solution in trials.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EMResult", "distinct_patterns", "expectation_maximisation"]

_EPS = 1e-9


@dataclass(frozen=True)
class EMResult:
    """EM estimates. ``m[c][l]``/``u[c][l]``: probability of level l of comparison c
    among matches/non-matches (level 0, null, is 1.0 by convention)."""

    m: list[list[float]]
    u: list[list[float]]
    match_rate: float
    iterations: int
    converged: bool


def distinct_patterns(levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a (pairs × comparisons) level matrix and their counts."""
    patterns, counts = np.unique(levels, axis=0, return_counts=True)
    return patterns, counts.astype(np.float64)


def _normalised(table: np.ndarray) -> np.ndarray:
    """Rows of per-level weights → probabilities over the non-null levels."""
    table = table.copy()
    table[:, 0] = 0.0
    table = table + _EPS
    table[:, 0] = 0.0
    table /= table.sum(axis=1, keepdims=True)
    table[:, 0] = 1.0
    return table


def expectation_maximisation(patterns: np.ndarray, counts: np.ndarray, n_levels: list[int],
                             m_start: list[list[float]], u_start: list[list[float]],
                             rate_start: float, max_iterations: int = 200,
                             tolerance: float = 1e-6, fix_u: bool = False) -> EMResult:
    """Estimate m, u and the share of matches among the pairs.

    Args:
        patterns: distinct level patterns (rows) of the candidate pairs.
        counts: how many pairs have each pattern.
        n_levels: levels per comparison, null level included.
        m_start, u_start: starting values, level 0 ignored.
        rate_start: starting share of matching pairs.
        max_iterations, tolerance: stop after this many rounds, or when no
            parameter moves more than ``tolerance``.
        fix_u: keep u at ``u_start`` (right when the pairs come from one
            blocking rule, so non-matches are random apart from the rule's
            fields); otherwise u is free too.
    """
    width = max(n_levels)
    m = _normalised(_padded(m_start, width))
    u = _normalised(_padded(u_start, width))
    rate = float(np.clip(rate_start, 1e-6, 1 - 1e-6))
    columns = range(patterns.shape[1])
    converged, iteration = False, 0
    for iteration in range(1, max_iterations + 1):
        log_m = np.log(rate) + sum(np.log(m[c][patterns[:, c]]) for c in columns)
        log_u = np.log(1 - rate) + sum(np.log(u[c][patterns[:, c]]) for c in columns)
        posterior = 1.0 / (1.0 + np.exp(np.clip(log_u - log_m, -700, 700)))
        weight_m, weight_u = counts * posterior, counts * (1 - posterior)
        new_m = np.stack([np.bincount(patterns[:, c], weight_m, minlength=width) for c in columns])
        new_u = np.stack([np.bincount(patterns[:, c], weight_u, minlength=width) for c in columns])
        new_m, new_u = _normalised(new_m), (u if fix_u else _normalised(new_u))
        new_rate = float(np.clip(weight_m.sum() / counts.sum(), 1e-9, 1 - 1e-9))
        change = max(np.abs(new_m - m).max(), np.abs(new_u - u).max(), abs(new_rate - rate))
        m, u, rate = new_m, new_u, new_rate
        if change < tolerance:
            converged = True
            break
    return EMResult(_unpadded(m, n_levels), _unpadded(u, n_levels), rate, iteration, converged)


def _padded(table: list[list[float]], width: int) -> np.ndarray:
    return np.array([list(row) + [0.0] * (width - len(row)) for row in table], dtype=np.float64)


def _unpadded(table: np.ndarray, n_levels: list[int]) -> list[list[float]]:
    return [table[c, :n].tolist() for c, n in enumerate(n_levels)]
