"""Blocking: which population rows are compared with each incoming record.

Each rule turns a record into one integer key (0 = no key, e.g. a missing
field).  The population side is held per rule as keys sorted once, with
start/count per distinct key, so a whole batch is looked up with numpy; rows
added or changed later sit in a small overlay until the next rebuild.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from b2b_soap.matching._coding import Coded, Coder

__all__ = ["block_keys", "block_limit", "query_keys", "SortedBlocks"]

# Rules narrowed by gender, and the rule each narrows. Gender codes are 1 and 2; a person
# without one is blocked under a value of their own, which every query also looks up.
_GENDERED = {"dob+gender": "dob", "surname_phonetic+birth_year+gender": "surname_phonetic+birth_year",
             "surname_phonetic+forename_initial+gender_without_dob": "surname_phonetic+forename_initial",
             "surname+gender_without_forename": "surname",
             "initials+postcode_district+gender_population_without_dob": "initials+postcode_district"}
_NO_GENDER = 3
# Rules only records missing a field look up (the other rules find the rest), and the most persons
# a key of theirs may hold: a surname (or its sound and an initial) singles a person out only when
# few share it, and a bound keeps such rules cheap in a population of any size.
_ONLY_WITHOUT = {"surname_phonetic+forename_initial+gender_without_dob": "dob",
                 "surname+gender_without_forename": "fn"}
# Rules whose population side holds only persons missing a field, looked up by every record: a
# person without a DOB on file, both names mistyped, who moved within the district.
_POPULATION_WITHOUT = {"initials+postcode_district+gender_population_without_dob": "dob"}
_ONLY_WITHOUT_BLOCK_SIZE = 20


def block_keys(rule: str, coded: Coded, coder: Coder) -> np.ndarray:
    """Integer blocking key of every row of ``coded`` for ``rule`` (0 = none)."""
    c = coded.cols
    if rule == "upn":
        return c["upn"]
    if rule == "dob":
        return c["dob"]
    if rule == "surname":
        return c["sn"]
    phon = coder.names.phon_array()
    if rule == "surname_phonetic+birth_year":
        return _both(phon[c["sn"]], c["dob"] // 10000, 10000)
    if rule == "forename_phonetic+surname_phonetic":
        return _both(phon[c["fn"]], phon[c["sn"]], 1 << 24)
    if rule == "names_phonetic_any_order":
        first, second = phon[c["fn"]], phon[c["sn"]]
        return _both(np.maximum(first, second), np.minimum(first, second), 1 << 24)
    if rule == "surname_phonetic+postcode":
        return _both(phon[c["sn"]], c["pc"], 1 << 24)
    if rule == "address+postcode":
        return _both(c["addr"], c["pc"], 1 << 24)
    if rule == "address+town":
        return _both(c["addr"], c["town"], 1 << 24)
    if rule == "postcode+forename_initial":
        return _both(c["pc"], coder.names.initial_array()[c["fn"]], 64)
    if rule == "surname_phonetic+forename_initial":
        return _both(phon[c["sn"]], coder.names.initial_array()[c["fn"]], 64)
    if rule == "initials+postcode_district":
        initial = coder.names.initial_array()
        return _both(_both(initial[c["fn"]], initial[c["sn"]], 64), c["pcd"], 1 << 24)
    if rule in _GENDERED:
        key = _both(block_keys(_GENDERED[rule], coded, coder), _gender_value(c), 4)
        field = _POPULATION_WITHOUT.get(rule)
        return np.where(c[field] == 0, key, 0) if field else key
    if rule == "forename_phonetic+dob_year_month":
        return _both(phon[c["fn"]], c["dob"] // 100, 1_000_000)
    raise ValueError(f"unknown blocking rule {rule!r}")


def query_keys(rule: str, coded: Coded, coder: Coder) -> list[np.ndarray]:
    """The keys each row of ``coded`` looks up for ``rule``: usually its own key; for a rule
    with gender, also the key of a missing gender, and every gender's when its own is missing."""
    if rule not in _GENDERED:
        return [block_keys(rule, coded, coder)]
    base = block_keys(_GENDERED[rule], coded, coder)
    if rule in _ONLY_WITHOUT:
        base = np.where(coded.cols[_ONLY_WITHOUT[rule]] == 0, base, 0)
    gender = coded.cols["gender"]
    wanted = {value: (gender == value) | (gender == 0) for value in (1, 2)}
    wanted[_NO_GENDER] = np.ones(len(gender), bool)
    return [np.where((base > 0) & rows, base * 4 + value, 0) for value, rows in wanted.items()]


def block_limit(rule: str, max_block_size: int) -> int:
    """The most population rows one key of ``rule`` may hold and still be looked up."""
    bounded = rule in _ONLY_WITHOUT or rule in _POPULATION_WITHOUT
    return min(max_block_size, _ONLY_WITHOUT_BLOCK_SIZE) if bounded else max_block_size


def _gender_value(c: dict[str, np.ndarray]) -> np.ndarray:
    return np.where(c["gender"] > 0, c["gender"], _NO_GENDER)


def _in_key_order(keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows`` (increasing) ordered by key, then by row."""
    shift = max(len(keys) - 1, 1).bit_length()
    if not len(rows) or int(keys[rows].max()) >= 1 << (63 - shift):
        return rows[np.argsort(keys[rows], kind="stable")]
    # key and row in one integer, all distinct: an unstable sort (several times faster) gives the same order
    return np.sort(keys[rows] << shift | rows) & ((1 << shift) - 1)


def _both(high: np.ndarray, low: np.ndarray, base: int) -> np.ndarray:
    """Combine two non-negative codes into one key, 0 when either is missing."""
    return np.where((high > 0) & (low > 0), high * base + low, 0)


class SortedBlocks:
    """Population rows by key for one rule: sorted arrays plus an overlay dict."""

    def __init__(self, keys: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Blocks of the rows with a key; ``rows``, when given, are those rows already in order of key
        (then of row)."""
        self.rows = _in_key_order(keys, np.flatnonzero(keys)) if rows is None else rows
        sorted_keys = keys[self.rows]
        runs = sorted_keys[1:] != sorted_keys[:-1]
        self.start = np.flatnonzero(np.concatenate([[len(sorted_keys) > 0], runs]))  # where each key's run begins
        self.uniq = sorted_keys[self.start]
        self.count = np.diff(self.start, append=len(sorted_keys))
        self.overlay: dict[int, list[int]] = defaultdict(list)

    def part(self, keys: np.ndarray, row_in_part: np.ndarray) -> SortedBlocks:
        """These blocks for some of their rows, renumbered by ``row_in_part`` (-1 for rows left out, in
        increasing order otherwise), whose keys are ``keys``: the order is kept, nothing is sorted.
        Only for blocks without changes since they were sorted (no stale rows, no overlay)."""
        rows = row_in_part[self.rows]
        return SortedBlocks(keys, rows[rows >= 0])

    def add_overlay(self, row: int, key: int) -> None:
        if key:
            self.overlay[int(key)].append(row)

    def drop_overlay(self, row: int, key: int) -> None:
        rows = self.overlay.get(int(key))
        if rows and row in rows:
            rows.remove(row)

    def lookup(self, keys: np.ndarray, max_block: int, stale: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (query index, population row) for every query key found.

        ``stale`` marks rows changed since the sort: their sorted entries are
        out of date and skipped; the overlay holds their current keys.
        """
        query = np.flatnonzero(keys)
        q_keys = keys[query]
        pos = np.searchsorted(self.uniq, q_keys)
        pos[pos >= len(self.uniq)] = 0
        if len(self.uniq):
            hit = (self.uniq[pos] == q_keys) & (self.count[pos] <= max_block)
        else:  # no population row has a key for this rule (e.g. nobody holds a UPN yet)
            hit = np.zeros(len(query), bool)
        query, pos = query[hit], pos[hit]
        counts = self.count[pos]
        total = int(counts.sum())
        left = np.repeat(query, counts)
        # offsets 0..count-1 within each block, then shifted to the block start
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        right = self.rows[np.repeat(self.start[pos], counts) + within]
        if stale is not None:
            fresh = ~stale[right]
            left, right = left[fresh], right[fresh]
        if self.overlay:
            extra_left, extra_right = [], []
            for q in np.flatnonzero(keys).tolist():
                rows = self.overlay.get(int(keys[q]))
                if rows:
                    extra_left.extend([q] * len(rows))
                    extra_right.extend(rows)
            if extra_left:
                left = np.concatenate([left, np.asarray(extra_left, np.int64)])
                right = np.concatenate([right, np.asarray(extra_right, np.int64)])
        return left, right
