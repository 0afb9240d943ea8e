"""Named comparisons: the level each candidate pair reaches on each field.

Levels are computed for whole arrays of pairs.  Exact agreement is integer
equality of codes; fuzzy levels come from rapidfuzz (``process.cpdist``, in C),
computed once per distinct pair of codes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from b2b_soap.matching._coding import Coded
from b2b_soap.matching._nicknames import are_nicknames
from b2b_soap.matching.index import PopulationIndex
from b2b_soap.matching.settings import COMPARISON_KINDS, MatchSettings

__all__ = ["comparison_levels", "generation_apart"]

# Fuzzy class of a distinct name pair: close, similar or else by spelling,
# plus the _NICK flag when the two names share a nickname group.
_CLOSE, _SIMILAR, _ELSE, _NICK = 1, 2, 3, 8


@dataclass(frozen=True)
class _Pairs:
    """Candidate pairs: row ``left[i]`` of the batch against ``right[i]`` of the population."""

    settings: MatchSettings
    index: PopulationIndex
    batch: Coded
    left: np.ndarray
    right: np.ndarray

    def both(self, field: str) -> tuple[np.ndarray, np.ndarray]:
        """Codes of ``field`` on the incoming and population side of every pair."""
        return self.batch.cols[field][self.left], self.index.cols[field][self.right]


def comparison_levels(settings: MatchSettings, index: PopulationIndex, batch: Coded,
                      left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Level (column per comparison) of each pair ``(batch[left], population[right])``."""
    pairs = _Pairs(settings, index, batch, left, right)
    levels = np.zeros((len(left), len(settings.comparisons)), np.int8)
    for column, comparison in enumerate(settings.comparisons):
        levels[:, column] = _LEVELS[comparison.kind](pairs)
    return levels


def _select(conditions: list[np.ndarray], null: np.ndarray, size: int) -> np.ndarray:
    """Level = 1 + index of the first true condition (the last level otherwise); 0 if null."""
    level = np.full(size, len(conditions) + 1, np.int8)
    for number in range(len(conditions), 0, -1):
        level[conditions[number - 1]] = number
    level[null] = 0
    return level


def _distinct_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (a, b) code pairs, and the inverse mapping back to all pairs."""
    uniq, inverse = np.unique(a * (1 << 32) + b, return_inverse=True)
    return uniq >> 32, uniq & 0xFFFFFFFF, inverse


def _fuzzy_classes(index: PopulationIndex, settings: MatchSettings, a: np.ndarray, b: np.ndarray
                   ) -> np.ndarray:
    """Fuzzy class of each name pair, computed once per distinct pair (rapidfuzz, in C)."""
    left, right, inverse = _distinct_pairs(a, b)
    values = index.coder.names.values
    x = [values[i] for i in left.tolist()]
    y = [values[i] for i in right.tolist()]
    jaro_winkler = process.cpdist(x, y, scorer=JaroWinkler.similarity, workers=1)
    edits = process.cpdist(x, y, scorer=DamerauLevenshtein.distance, workers=1)
    found = np.where((edits <= 1) | (jaro_winkler >= settings.jw_high), _CLOSE,
                     np.where(jaro_winkler >= settings.jw_low, _SIMILAR, _ELSE)).astype(np.int8)
    nick = [are_nicknames(p, q) for p, q in zip(x, y)]
    found[np.asarray(nick, bool)] |= _NICK
    return found[inverse]


def _names_fuzzy(pairs: _Pairs, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fuzzy class of every pair of name codes (``_ELSE`` where equal or missing), and
    the mask of pairs whose names are both present and differ."""
    fuzzy = np.full(len(a), _ELSE, np.int8)
    differ = (a != b) & (a > 0) & (b > 0)
    if differ.any():
        fuzzy[differ] = _fuzzy_classes(pairs.index, pairs.settings, a[differ], b[differ])
    return fuzzy, differ


def _names_swapped(pairs: _Pairs) -> np.ndarray:
    """Forename and surname swapped: each name equal, similar (Jaro-Winkler >= low, or one
    edit) or a nickname of the other side's other name, where the names as given differ."""
    a_fn, b_fn = pairs.both("fn")
    a_sn, b_sn = pairs.both("sn")
    swapped = (a_fn != b_fn) & (a_sn != b_sn) & (a_fn > 0) & (a_sn > 0) & (b_fn > 0) & (b_sn > 0)
    for a, b in ((a_fn, b_sn), (a_sn, b_fn)):
        cross, _ = _names_fuzzy(pairs, a[swapped], b[swapped])
        swapped[swapped] = (a[swapped] == b[swapped]) | (cross != _ELSE)
    return swapped


def _forename(pairs: _Pairs) -> np.ndarray:
    a, b = pairs.both("fn")
    a_mid, b_mid = pairs.both("mn")
    fuzzy, differ = _names_fuzzy(pairs, a, b)
    middle = ((a == b_mid) | (a_mid == b)) & (a > 0)
    swapped = _names_swapped(pairs)
    spelling = fuzzy & 7
    conditions = [a == b, (fuzzy & _NICK) > 0, middle & differ, swapped & differ,
                  spelling == _CLOSE, spelling == _SIMILAR]
    return _select(conditions, (a == 0) | (b == 0), len(a))


def _surname(pairs: _Pairs) -> np.ndarray:
    a, b = pairs.both("sn")
    fuzzy, _ = _names_fuzzy(pairs, a, b)
    swapped = _names_swapped(pairs)
    spelling = fuzzy & 7  # nicknames mean nothing for surnames
    conditions = [a == b, swapped, spelling == _CLOSE, spelling == _SIMILAR]
    return _select(conditions, (a == 0) | (b == 0), len(a))


def _digits(value: np.ndarray) -> list[np.ndarray]:
    return [(value // 10 ** k) % 10 for k in range(8)]


def _dob(pairs: _Pairs) -> np.ndarray:
    a, b = pairs.both("dob")
    year_a, month_a, day_a = a // 10000, (a // 100) % 100, a % 100
    year_b, month_b, day_b = b // 10000, (b // 100) % 100, b % 100
    swapped = (year_a == year_b) & (month_a == day_b) & (day_a == month_b) & (month_a != day_a)
    differing = sum((x != y).astype(np.int8) for x, y in zip(_digits(a), _digits(b)))
    conditions = [a == b, swapped, differing == 1, (month_a == month_b) & (day_a == day_b)]
    return _select(conditions, (a == 0) | (b == 0), len(a))


def generation_apart(settings: MatchSettings, index: PopulationIndex, batch: Coded, left: np.ndarray,
                     right: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Pairs born ``settings.generation_years`` or more apart, where the dates differ by more
    than a typo (DOB level "year differs" or "else"): a parent and a child, never one person.
    ``levels`` are the pairs' levels from :func:`comparison_levels`."""
    labels = COMPARISON_KINDS["dob"]
    beyond_typo = np.zeros(len(left), bool)
    for column, comparison in enumerate(settings.comparisons):
        if comparison.kind == "dob":
            beyond_typo |= np.isin(levels[:, column], (labels.index("year differs"), labels.index("else")))
    a, b = _Pairs(settings, index, batch, left, right).both("dob")
    return beyond_typo & (np.abs(a // 10000 - b // 10000) >= settings.generation_years)


def _exact(field: str) -> Callable[[_Pairs], np.ndarray]:
    def level(pairs: _Pairs) -> np.ndarray:
        a, b = pairs.both(field)
        return _select([a == b], (a == 0) | (b == 0), len(a))
    return level


def _postcode(pairs: _Pairs) -> np.ndarray:
    a, b = pairs.both("pc")
    sector_a, sector_b = pairs.both("pcs")
    district_a, district_b = pairs.both("pcd")
    conditions = [a == b, (sector_a == sector_b) & (sector_a > 0), (district_a == district_b) & (district_a > 0)]
    return _select(conditions, (a == 0) | (b == 0), len(a))


def _similar_addresses(index: PopulationIndex, settings: MatchSettings, a: np.ndarray, b: np.ndarray
                       ) -> np.ndarray:
    """rapidfuzz token-sort ratio >= threshold, once per distinct address pair: the plain ratio of the
    words in sorted order, sorted once per address rather than once per pair."""
    similar = np.zeros(len(a), bool)
    differ = (a != b) & (a > 0) & (b > 0)
    if not differ.any():
        return similar
    left, right, inverse = _distinct_pairs(a[differ], b[differ])
    words = index.coder.addresses.sorted_words
    ratio = process.cpdist([words[i] for i in left.tolist()], [words[i] for i in right.tolist()],
                           scorer=fuzz.ratio, score_cutoff=settings.address_similar, workers=1)
    similar[differ] = (ratio >= settings.address_similar)[inverse]
    return similar


def _address(pairs: _Pairs) -> np.ndarray:
    a, b = pairs.both("addr")
    pc_a, pc_b = pairs.both("pc")
    sector_a, sector_b = pairs.both("pcs")
    district_a, district_b = pairs.both("pcd")
    same_address = (a == b) & (a > 0)
    similar = _similar_addresses(pairs.index, pairs.settings, a, b)
    same_postcode = (pc_a == pc_b) & (pc_a > 0)
    conditions = [same_address & same_postcode, same_address | (similar & same_postcode), same_postcode,
                  similar, (sector_a == sector_b) & (sector_a > 0), (district_a == district_b) & (district_a > 0)]
    null = ((a == 0) & (pc_a == 0)) | ((b == 0) & (pc_b == 0))
    return _select(conditions, null, len(a))


def _upn(pairs: _Pairs) -> np.ndarray:
    a, b = pairs.both("upnr")
    upns = pairs.index.coder.upns
    valid, permanent = upns.valid_array(), upns.permanent_array()
    temporary = (valid[a] & ~permanent[a]) | (valid[b] & ~permanent[b])
    both_permanent = permanent[a] & permanent[b]
    # a mistyped digit or a transposition always breaks the check letter, so two valid UPNs
    # one character apart are two UPNs (twins often get consecutive ones), not a typo
    differ = (a != b) & (a > 0) & (b > 0) & ~temporary & ~both_permanent
    close = np.zeros(len(a), bool)
    if differ.any():
        left, right, inverse = _distinct_pairs(a[differ], b[differ])
        # the check letter is left out: a mistyped digit usually breaks it as well
        edits = process.cpdist([upns.values[i][1:] for i in left.tolist()],
                               [upns.values[i][1:] for i in right.tolist()],
                               scorer=DamerauLevenshtein.distance, score_cutoff=2, workers=1)
        close[differ] = (edits <= 1)[inverse]
    conditions = [a == b, close, both_permanent]
    return _select(conditions, (a == 0) | (b == 0) | (temporary & (a != b)), len(a))


_LEVELS: dict[str, Callable[[_Pairs], np.ndarray]] = {
    "forename": _forename,
    "surname": _surname,
    "dob": _dob,
    "gender": _exact("gender"),
    "postcode": _postcode,
    "address": _address,
    "town": _exact("town"),
    "upn": _upn,
}
