"""Unique Pupil Number (UPN): structure and check letter.

A UPN is 13 characters: check letter + LA (3) + establishment (4) + year (2) +
serial (3).  The check letter is ``ABCDEFGHJKLMNPQRTUVWXYZ[sum mod 23]`` where the
sum weights characters 2..13 by 2..13; a temporary UPN carries a letter in
position 13, valued by its index in the same alphabet.  Only structure and the
check letter are validated: LA numbers change, and the demo LA is ``999``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import mul

import numpy as np

__all__ = ["UPN_ALPHABET", "upn_check_letter", "validate_upn", "is_valid_upn", "valid_upns", "make_upn"]

UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
_LETTER_VALUE = {letter: index for index, letter in enumerate(UPN_ALPHABET)}
_CHAR_VALUE = {**{str(digit): digit for digit in range(10)}, **_LETTER_VALUE}
_WEIGHTS = range(2, 14)


_TAIL = re.compile(r"[0-9]{11}[0-9ABCDEFGHJKLMNPQRTUVWXYZ]")


def _tail_problem(tail12: str) -> str | None:
    if len(tail12) == 12 and _TAIL.fullmatch(tail12):
        return None
    if len(tail12) != 12:
        return f"wrong length: UPN needs 13 characters, got {len(tail12) + 1}"
    if not tail12[:11].isascii() or not tail12[:11].isdigit():
        return "bad characters: characters 2-12 must be digits"
    last = tail12[11]
    if not (last.isascii() and last.isdigit()) and last not in _LETTER_VALUE:
        return f"bad characters: character 13 must be a digit or one of {UPN_ALPHABET}"
    return None


def upn_check_letter(tail12: str) -> str:
    """Return the check letter for the last 12 characters of a UPN.

    Args:
        tail12: characters 2..13 (LA, establishment, year, serial).

    Raises:
        ValueError: when ``tail12`` is not 11 digits plus a digit or letter.
    """
    problem = _tail_problem(tail12)
    if problem:
        raise ValueError(problem)
    return _letter(tail12)


def _letter(tail12: str) -> str:
    return UPN_ALPHABET[sum(map(mul, _WEIGHTS, map(_CHAR_VALUE.__getitem__, tail12))) % 23]


def validate_upn(upn: str) -> str | None:
    """Return None for a valid UPN, else a short human reason."""
    if len(upn) != 13:
        return f"wrong length: UPN needs 13 characters, got {len(upn)}"
    if upn[0] not in _LETTER_VALUE:
        return "bad characters: character 1 must be a check letter"
    problem = _tail_problem(upn[1:])
    if problem:
        return problem
    expected = _letter(upn[1:])
    if upn[0] != expected:
        return f"wrong check letter: expected {expected}, got {upn[0]}"
    return None


def is_valid_upn(upn: str | None) -> bool:
    """True when ``upn`` has the right structure and check letter."""
    return bool(upn) and validate_upn(upn) is None


# Per byte: its value in a UPN (digit or alphabet letter), else -1; and whether it is a digit.
_BYTE_VALUE = np.full(256, -1, np.int64)
for _char, _value in _CHAR_VALUE.items():
    _BYTE_VALUE[ord(_char)] = _value
_BYTE_IS_DIGIT = np.zeros(256, bool)
_BYTE_IS_DIGIT[ord("0"):ord("9") + 1] = True
_BYTE_IS_LETTER = (_BYTE_VALUE >= 0) & ~_BYTE_IS_DIGIT


def valid_upns(upns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`is_valid_upn` of many UPNs at once, and which of them are permanent (end in a digit)."""
    chars = np.array([u if len(u) == 13 and u.isascii() else "" for u in upns], dtype="S13")
    chars = chars.view(np.uint8).reshape(len(upns), 13)
    values = _BYTE_VALUE[chars]
    check = (values[:, 1:] * np.arange(2, 14)).sum(axis=1) % 23
    valid = (_BYTE_IS_LETTER[chars[:, 0]] & _BYTE_IS_DIGIT[chars[:, 1:12]].all(axis=1) & (values[:, 12] >= 0)
             & (values[:, 0] == check))
    return valid, valid & _BYTE_IS_DIGIT[chars[:, 12]]


def make_upn(la: str, estab: str, year: int, serial: int) -> str:
    """Build a permanent UPN, e.g. ``make_upn("999", "4001", 2019, 7)``.

    Args:
        la: 3-digit LA number.
        estab: 4-digit establishment number.
        year: year of allocation; only its last two digits are used.
        serial: 0..999.
    """
    if not (len(la) == 3 and la.isdigit() and len(estab) == 4 and estab.isdigit()):
        raise ValueError("la must be 3 digits and estab 4 digits")
    if not 0 <= serial <= 999:
        raise ValueError("serial must be 0..999")
    tail = f"{la}{estab}{year % 100:02d}{serial:03d}"
    return upn_check_letter(tail) + tail
