"""Integer coding of records: each distinct value normalised once, shared codes.

Code 0 always means "missing".  Both sides of a match are coded in the same
vocabularies, so exact agreement is integer equality and string similarity is
computed once per distinct pair of codes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from operator import attrgetter
from typing import Any

import jellyfish
import numpy as np

from b2b_soap.matching import normalise as norm
from b2b_soap.matching.records import RECORD_FIELDS, Record
from b2b_soap.matching.upn import valid_upns

# upn: valid UPNs only (blocking, the UPN rule); upnr: any UPN as sent, for the UPN comparison
FIELDS = ("fn", "mn", "sn", "dob", "gender", "pc", "pcs", "pcd", "town", "addr", "upn", "upnr")
_GENDER = {"M": 1, "F": 2, "m": 1, "f": 2}


class Vocab:
    """Normalised value ↔ code, with a cache from raw text to code."""

    def __init__(self, normalise: Callable[[str], str]) -> None:
        self.normalise = normalise
        self.codes: dict[str, int] = {"": 0}
        self.values: list[str] = [""]
        self._raw: dict[str, int] = {}

    def code(self, raw: str | None) -> int:
        if not raw:
            return 0
        found = self._raw.get(raw)
        if found is None:
            found = self.code_of_normal(self.normalise(raw))
            self._raw[raw] = found
        return found

    def code_of_normal(self, value: str) -> int:
        found = self.codes.get(value)
        if found is None:
            found = self.codes[value] = len(self.values)
            self.values.append(value)
            self.added(value)
        return found

    def added(self, value: str) -> None:
        """Hook for derived per-code data."""


class NameVocab(Vocab):
    """Names with their phonetic code and initial, kept per code."""

    def __init__(self) -> None:
        self.phonetic = Vocab(lambda text: text)
        self._phon: list[int] = [0]
        self._initial: list[int] = [0]
        super().__init__(norm.normalise_name)

    def added(self, value: str) -> None:
        self._phon.append(self.phonetic.code(jellyfish.metaphone(value.replace(" ", "")) or value))
        self._initial.append(ord(value[0]) - 96 if value else 0)

    def phon_array(self) -> np.ndarray:
        return np.asarray(self._phon, dtype=np.int64)

    def initial_array(self) -> np.ndarray:
        return np.asarray(self._initial, dtype=np.int64)


class PostcodeVocab(Vocab):
    """Postcodes with the codes of their sector and district."""

    def __init__(self) -> None:
        self.areas = Vocab(lambda text: text)
        self._sector: list[int] = [0]
        self._district: list[int] = [0]
        super().__init__(norm.normalise_postcode)

    def added(self, value: str) -> None:
        self._sector.append(self.areas.code(norm.postcode_sector(value)))
        self._district.append(self.areas.code(norm.postcode_district(value)))


class AddressVocab(Vocab):
    """Addresses with their words in sorted order, kept per code for the token-sort comparison."""

    def __init__(self) -> None:
        self.sorted_words: list[str] = [""]
        super().__init__(norm.normalise_address)

    def added(self, value: str) -> None:
        words = " ".join(sorted(value.split()))
        self.sorted_words.append(value if words == value else words)  # the same string when already sorted


class UpnVocab(Vocab):
    """UPNs as sent (valid or not), with whether each is valid and whether permanent (both checked
    for all new values at once when next asked for)."""

    def __init__(self) -> None:
        self._valid = np.zeros(1, bool)
        self._permanent = np.zeros(1, bool)
        super().__init__(lambda text: text.strip().upper())

    def _check_new(self) -> None:
        if len(self._valid) < len(self.values):
            valid, permanent = valid_upns(self.values[len(self._valid):])
            self._valid = np.concatenate([self._valid, valid])
            self._permanent = np.concatenate([self._permanent, permanent])

    def valid_array(self) -> np.ndarray:
        self._check_new()
        return self._valid

    def permanent_array(self) -> np.ndarray:
        """True for a valid permanent UPN (a temporary one ends in a letter)."""
        self._check_new()
        return self._permanent


@dataclass
class Coded:
    """Columns of integer codes for a list of records (one row per record)."""

    ids: list[str]
    cols: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.ids)


class Coder:
    """The shared vocabularies and the record → codes step."""

    def __init__(self) -> None:
        self.names = NameVocab()
        self.postcodes = PostcodeVocab()
        self.towns = Vocab(norm.normalise_town)
        self.addresses = AddressVocab()
        self.upns = UpnVocab()
        self._middle: dict[str, int] = {}

    def _middle_code(self, raw: str) -> int:
        if not raw:
            return 0
        found = self._middle.get(raw)
        if found is None:
            found = self._middle[raw] = self.names.code_of_normal(norm.first_token(norm.normalise_name(raw)))
        return found

    def encode(self, records: Sequence[Record]) -> Coded:
        """Code a list of records; each distinct raw value is normalised once."""
        return self.encode_columns([r.id for r in records],
                                   {name: list(map(attrgetter(name), records)) for name in RECORD_FIELDS})

    def encode_columns(self, ids: list[str], columns: dict[str, Sequence[Any]]) -> Coded:
        """Code records given as one list of values per record field (``RECORD_FIELDS``) (as read from a
        table), without making a record of each."""
        return self.encode_factorised(ids, {name: factorise(columns[name]) for name in RECORD_FIELDS})

    def encode_factorised(self, ids: list[str], factors: dict[str, Factorised]) -> Coded:
        """Code records given per record field as its distinct values and each record's position
        among them: each distinct value is normalised once, and the rest is array indexing."""
        return self.coded(ids, {name: self.code_values(name, distinct)[positions]
                                for name, (distinct, positions) in factors.items()})

    def code_values(self, field: str, values: Sequence[Any]) -> np.ndarray:
        """The codes of values of one record field."""
        code = {"forename": self.names.code, "surname": self.names.code, "middle_names": self._middle_code,
                "dob": _dob_number, "gender": _gender_code, "postcode": self.postcodes.code,
                "town": self.towns.code, "address": self.addresses.code, "upn": self.upns.code}[field]
        return np.fromiter(map(code, values), dtype=np.int64, count=len(values))

    def coded(self, ids: list[str], codes: dict[str, np.ndarray]) -> Coded:
        """Records whose fields are already coded (``code_values``), with the columns derived from them."""
        pc, upn_raw = codes["postcode"], codes["upn"]
        sector = np.asarray(self.postcodes._sector, dtype=np.int64)
        district = np.asarray(self.postcodes._district, dtype=np.int64)
        cols = {"fn": codes["forename"], "mn": codes["middle_names"], "sn": codes["surname"], "dob": codes["dob"],
                "gender": codes["gender"], "pc": pc, "pcs": sector[pc], "pcd": district[pc], "town": codes["town"],
                "addr": codes["address"], "upn": np.where(self.upns.valid_array()[upn_raw], upn_raw, 0),
                "upnr": upn_raw}
        return Coded(list(ids), cols)


# One field of many records: its distinct values, and each record's position among them
Factorised = tuple[Sequence[Any], np.ndarray]


def _dob_number(dob: date | None) -> int:
    return dob.year * 10000 + dob.month * 100 + dob.day if dob else 0


def _gender_code(gender: str | None) -> int:
    return _GENDER.get(gender or "", 0)


class _Positions(dict):
    """Value → position in order of first appearance, assigned on first look-up."""

    def __missing__(self, value: Any) -> int:
        position = self[value] = len(self)
        return position


def factorise(values: Sequence[Any]) -> Factorised:
    """The distinct ``values`` in order of first appearance, and each value's position among them."""
    positions = _Positions()
    found = np.fromiter(map(positions.__getitem__, values), dtype=np.int64, count=len(values))
    return list(positions), found
