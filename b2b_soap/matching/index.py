"""PopulationIndex: the LA population coded and blocked once, reused per batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from b2b_soap.matching._coding import FIELDS, Coded, Coder
from b2b_soap.matching.blocking import SortedBlocks, block_keys, block_limit, query_keys
from b2b_soap.matching.records import Record
from b2b_soap.matching.settings import MatchSettings

__all__ = ["PopulationIndex"]


class PopulationIndex:
    """The LA's persons as integer columns plus blocking structures (the records themselves are
    not kept: a million persons' strings would be most of a process's memory).

    Build it once (from records, or from columns as read from a table with :meth:`from_columns`);
    :meth:`add` inserts or replaces persons by id and :meth:`remove` drops them, both without a rebuild (changed rows go to an
    overlay; the sorted structures are rebuilt when the overlay grows past a
    tenth of the population).

    Args:
        records: initial population.
        settings: blocking rules and block size limit (defaults if omitted).
        coder: vocabularies to code in, shared with another index (a new one if omitted).
    """

    def __init__(self, records: Iterable[Record] = (), settings: MatchSettings | None = None,
                 coder: Coder | None = None) -> None:
        self.settings = settings or MatchSettings()
        self.coder = coder or Coder()
        self.ids: list[str] = []
        self.row_of: dict[str, int] = {}
        self.cols: dict[str, np.ndarray] = {name: np.zeros(0, np.int64) for name in FIELDS}
        self.active = np.zeros(0, bool)
        self._tf_cache: dict[str, np.ndarray] = {}
        self._keys: dict[str, np.ndarray] = {}
        self._blocks: dict[str, SortedBlocks] = {}
        self._stale = np.zeros(0, bool)
        self._overlay_rows = 0
        self._append(self.coder.encode(list(records)))
        self._rebuild()

    @classmethod
    def from_columns(cls, ids: list[str], columns: dict[str, Sequence], settings: MatchSettings | None = None
                     ) -> PopulationIndex:
        """An index of the persons given as one list of values per record field (see
        :meth:`Coder.encode_columns`), without making a record of each."""
        coder = Coder()
        return cls.from_coded(coder, coder.encode_columns(ids, columns), settings)

    @classmethod
    def from_coded(cls, coder: Coder, coded: Coded, settings: MatchSettings | None = None) -> PopulationIndex:
        """An index of persons already coded in ``coder``'s vocabularies."""
        index = cls(settings=settings, coder=coder)
        index._append(coded)
        index._rebuild()
        return index

    def __len__(self) -> int:
        return int(self.active.sum())

    def subset(self, keep: np.ndarray, settings: MatchSettings) -> PopulationIndex:
        """The active rows where ``keep`` is true as an index of their own, in this index's
        vocabularies: nothing is coded again, and later changes may go to either index."""
        rows = np.flatnonzero(keep & self.active)
        part = PopulationIndex(settings=settings, coder=self.coder)
        part.ids = [self.ids[row] for row in rows.tolist()]
        part.row_of = dict(zip(part.ids, range(len(rows))))
        part.cols = {name: self.cols[name][rows] for name in FIELDS}
        part.active = np.ones(len(rows), bool)
        part._rebuild(self._share_blocks(part, rows))
        return part

    def _share_blocks(self, part: PopulationIndex, rows: np.ndarray) -> frozenset[str]:
        """Give ``part`` (``rows`` of this index) the blocks of the rules it shares with this one, taken
        in the order already sorted here; the rules so given. None while rows changed since the sort."""
        if self._stale.any():
            return frozenset()
        shared = frozenset(part.settings.blocking_rules) & self._blocks.keys()
        row_in_part = np.full(len(self.ids), -1, np.int64)
        row_in_part[rows] = np.arange(len(rows))
        for rule in shared:
            part._keys[rule] = self._keys[rule][rows]
            part._blocks[rule] = self._blocks[rule].part(part._keys[rule], row_in_part)
        return shared

    def changed(self, records: Sequence[Record]) -> list[Record]:
        """Those of ``records`` that are new to this index or indexed with other coded values."""
        if not records:
            return []
        coded = self.coder.encode(records)
        rows = np.fromiter((self.row_of.get(r.id, -1) for r in records), np.int64, len(records))
        same = rows >= 0
        for name in FIELDS:
            same[same] = self.cols[name][rows[same]] == coded.cols[name][same]
        return [record for record, kept in zip(records, same.tolist()) if not kept]

    # -- changes ---------------------------------------------------------
    def add(self, records: Iterable[Record]) -> None:
        """Insert persons, or replace those whose id is already indexed."""
        latest = {record.id: record for record in records}  # the last of repeated ids wins
        new, changed = [], []
        for record in latest.values():
            (changed if record.id in self.row_of else new).append(record)
        start = len(self.ids)
        self._append(self.coder.encode(new))
        for record in changed:
            row = self.row_of[record.id]
            self._unblock(row)
            coded = self.coder.encode([record])
            for name in FIELDS:
                self.cols[name][row] = coded.cols[name][0]
        self._tf_cache.clear()
        touched = list(range(start, len(self.ids))) + [self.row_of[r.id] for r in changed]
        self._block_rows(touched)

    def remove(self, ids: Iterable[str]) -> None:
        """Drop persons by id; unknown ids are ignored."""
        for pid in ids:
            row = self.row_of.pop(pid, None)
            if row is not None:
                self._unblock(row)
                self.active[row] = False
                self._tf_cache.clear()

    def _append(self, coded: Coded) -> None:
        if not len(coded):
            return
        start = len(self.ids)
        self.row_of.update(zip(coded.ids, range(start, start + len(coded))))
        self.ids.extend(coded.ids)
        for name in FIELDS:
            self.cols[name] = np.concatenate([self.cols[name], coded.cols[name]])
        self.active = np.concatenate([self.active, np.ones(len(coded), bool)])
        self._stale = np.concatenate([self._stale, np.zeros(len(coded), bool)])

    def _unblock(self, row: int) -> None:
        """Take a row's current keys out of the blocking structures."""
        self._stale[row] = True
        for rule, keys in self._keys.items():
            self._blocks[rule].drop_overlay(row, keys[row])

    def _block_rows(self, rows: list[int]) -> None:
        if not rows:
            return
        self._overlay_rows += len(rows)
        if self._overlay_rows * 10 > len(self.ids):
            self._rebuild()
            return
        sub = Coded([self.ids[r] for r in rows], {n: self.cols[n][rows] for n in FIELDS})
        for rule in self._blocks:
            keys = block_keys(rule, sub, self.coder)
            full = self._keys[rule]
            if len(full) < len(self.ids):
                full = self._keys[rule] = np.concatenate([full, np.zeros(len(self.ids) - len(full), np.int64)])
            for row, key in zip(rows, keys.tolist()):
                full[row] = key
                self._stale[row] = True
                self._blocks[rule].add_overlay(row, key)

    def _rebuild(self, fresh: frozenset[str] = frozenset()) -> None:
        """Sort the blocks of every rule again, but those named ``fresh``."""
        coded = Coded(self.ids, self.cols)
        for rule in {*self.settings.blocking_rules, *self._blocks} - fresh:
            keys = np.where(self.active, block_keys(rule, coded, self.coder), 0)
            self._keys[rule] = keys
            self._blocks[rule] = SortedBlocks(keys)
        self._stale = np.zeros(len(self.ids), bool)
        self._overlay_rows = 0

    # -- queries ---------------------------------------------------------
    def encode(self, records: Sequence[Record]) -> Coded:
        """Code an incoming batch in this index's vocabularies."""
        return self.coder.encode(records)

    def candidate_pairs(self, batch: Coded) -> tuple[np.ndarray, np.ndarray]:
        """De-duplicated (batch row, population row) pairs proposed by any rule."""
        lefts, rights = [], []
        for rule in self.settings.blocking_rules:
            left, right = self.rule_pairs(rule, batch)
            lefts.append(left)
            rights.append(right)
        width = max(len(self.ids), 1)
        pair = np.unique(np.concatenate(lefts) * width + np.concatenate(rights))
        return pair // width, pair % width

    def rule_pairs(self, rule: str, batch: Coded, max_block_size: int | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(batch row, population row) pairs proposed by one rule, which need not be a matching rule."""
        blocks = self._blocks_for(rule)
        limit = block_limit(rule, max_block_size or self.settings.max_block_size)
        stale = self._stale if self._stale.any() else None
        found = [blocks.lookup(keys, limit, stale) for keys in query_keys(rule, batch, self.coder)]
        return np.concatenate([left for left, _ in found]), np.concatenate([right for _, right in found])

    def _blocks_for(self, rule: str) -> SortedBlocks:
        """Sorted blocks of one rule, built on first use if not a matching rule."""
        if rule not in self._blocks:
            keys = np.where(self.active, block_keys(rule, Coded(self.ids, self.cols), self.coder), 0)
            self._keys[rule] = keys
            self._blocks[rule] = SortedBlocks(keys)
        return self._blocks[rule]

    def term_frequency(self, column: str) -> np.ndarray:
        """Share of active population rows holding each code of ``column``'s vocabulary."""
        found = self._tf_cache.get(column)
        if found is None:
            values = self.cols[column][self.active]
            found = np.bincount(values, minlength=len(self.coder.names.values) + 1) / max(len(values), 1)
            self._tf_cache[column] = found
        return found

    def upn_rows(self, upn_codes: np.ndarray) -> dict[int, list[int]]:
        """Active population rows per (valid) UPN code asked for."""
        wanted = np.unique(upn_codes[upn_codes > 0])
        rows = np.flatnonzero(np.isin(self.cols["upn"], wanted) & self.active)
        found: dict[int, list[int]] = {}
        for row, code in zip(rows.tolist(), self.cols["upn"][rows].tolist()):
            found.setdefault(code, []).append(row)
        return found
