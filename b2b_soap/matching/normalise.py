"""Normalisation of names, postcodes and addresses to comparable keys.

Each function is pure and cheap; :class:`~b2b_soap.matching.index.PopulationIndex`
calls them once per distinct value, never per record pair.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalise_name", "normalise_postcode", "postcode_sector", "postcode_district",
           "normalise_address", "normalise_town", "first_token"]

_NON_ALPHA = re.compile(r"[^a-z ]+")
_SPACES = re.compile(r"\s+")
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_ADDRESS_WORDS = {
    "rd": "road", "st": "street", "ln": "lane", "ave": "avenue", "av": "avenue", "cl": "close",
    "dr": "drive", "cres": "crescent", "cresc": "crescent", "gr": "grove", "gdns": "gardens",
    "pl": "place", "ct": "court", "ter": "terrace", "terr": "terrace", "wk": "walk", "sq": "square",
    "flat": "flat", "apt": "flat",
}


def _fold(text: str) -> str:
    """Lower case without accents: 'Zoë' → 'zoe', 'Müller' → 'muller'."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise_name(name: str | None) -> str:
    """Fold case and accents; hyphens become spaces; apostrophes and other marks go.

    ``"O'Brien"`` → ``"obrien"``, ``"Smith-Jones"`` → ``"smith jones"``,
    ``"  ZOË "`` → ``"zoe"``.
    """
    if not name:
        return ""
    folded = _fold(name).replace("'", "").replace("\u2019", "").replace("-", " ")
    return _SPACES.sub(" ", _NON_ALPHA.sub(" ", folded)).strip()


def first_token(name: str) -> str:
    """First word of a normalised name (the first of several middle names)."""
    return name.split(" ", 1)[0] if name else ""


def normalise_postcode(postcode: str | None) -> str:
    """Upper case with one space before the inward code: ``"ls61ab"`` → ``"LS6 1AB"``.

    Anything that does not look like a full postcode is kept squeezed and upper
    case, so partial postcodes still compare exactly with themselves.
    """
    if not postcode:
        return ""
    squeezed = re.sub(r"[^A-Z0-9]", "", postcode.upper())
    found = _POSTCODE.match(squeezed)
    return f"{found.group(1)} {found.group(2)}" if found else squeezed


def postcode_sector(postcode: str) -> str:
    """``"LS6 1AB"`` → ``"LS6 1"``; empty when the postcode is not full."""
    return postcode[:-2] if " " in postcode else ""


def postcode_district(postcode: str) -> str:
    """``"LS6 1AB"`` → ``"LS6"``; empty when the postcode is not full."""
    return postcode.split(" ", 1)[0] if " " in postcode else ""


def normalise_address(address: str | None) -> str:
    """Fold case, accents and punctuation; expand common abbreviations (Rd → road)."""
    if not address:
        return ""
    folded = re.sub(r"[^a-z0-9 ]+", " ", _fold(address).replace("'", ""))
    return " ".join(_ADDRESS_WORDS.get(word, word) for word in folded.split())


def normalise_town(town: str | None) -> str:
    """Town names compare folded, like names."""
    return normalise_name(town)
