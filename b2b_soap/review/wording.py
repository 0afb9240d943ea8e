"""Match explanations in words a reviewer reads, beside the matching core's own labels.

The core explains a candidate as comparison levels ("one edit or jaro-winkler >= high",
"else", "null") with their match weight; other code and the audit trail keep that form.
Here each becomes a line such as "Forename: close spelling (Jon / John) +6.1", with the
values compared, and a candidate's score is set against the automatic-match line.
"""
from __future__ import annotations

from typing import Any

from ..matching import MatchSettings

__all__ = ["field_reasons", "auto_line", "why_waiting", "signed"]

# comparison name -> label, and the record fields it compares
_COMPARED = {"forename": ("Forename", ("forename",)), "surname": ("Surname", ("surname",)),
             "dob": ("Date of birth", ("dob",)), "gender": ("Gender", ("gender",)),
             "address": ("Address", ("address", "postcode")), "postcode": ("Postcode", ("postcode",)),
             "town": ("Town", ("town",))}

_LEVELS = {"exact": "same", "nickname": "one is a nickname of the other ({a} / {b})",
           "matches middle name": "matches a middle name ({a} / {b})",
           "swapped with surname": "forename and surname swapped", "swapped with forename": "forename and surname swapped",
           "one edit or jaro-winkler >= high": "close spelling ({a} / {b})",
           "jaro-winkler >= low": "similar spelling ({a} / {b})",
           "day/month swapped": "day and month swapped ({a} / {b})", "one digit differs": "one digit differs ({a} / {b})",
           "same address and postcode": "same address and postcode", "same address": "same address, other postcode",
           "same postcode": "same postcode, other address", "similar address": "similar address",
           "same sector": "same postcode sector", "same district": "same postcode district", "else": "different"}
_SHOWN_WHEN_DIFFERENT = ("forename", "surname", "dob", "gender")


def signed(bits: float) -> str:
    """+6.1, −3.4 (a real minus sign) or 0.0."""
    if round(bits, 1) == 0:
        return "0.0"
    return f"+{bits:.1f}" if bits > 0 else f"\u2212{-bits:.1f}"


def _value(values: dict[str, Any], fields: tuple[str, ...]) -> str:
    return " ".join(str(values.get(f) or "") for f in fields).strip()


def _missing(school: str, la: str) -> str:
    if not school and not la:
        return "missing on both records"
    return "missing on the school's record" if not school else "missing on the LA's record"


def _words(name: str, level: str, school: str, la: str) -> str:
    if level == "null":
        return _missing(school, la)
    words = _LEVELS.get(level, level).format(a=school, b=la)
    if level == "else" and name in _SHOWN_WHEN_DIFFERENT:
        words += f" ({school} / {la})"
    return words


def field_reasons(record: dict[str, Any], candidate: dict[str, Any]) -> list[str]:
    """One line per comparison, school's value first, then a differing UPN as a finding."""
    lines = []
    for part in (candidate.get("explanation") or {}).get("comparisons", []):
        label, fields = _COMPARED.get(part["name"], (part["name"].capitalize(), (part["name"],)))
        school, la = _value(record, fields), _value(candidate, fields)
        lines.append(f"{label}: {_words(part['name'], part['level'], school, la)} {signed(part['bits'])}")
    school_upn, la_upn = record.get("upn") or "", candidate.get("upn") or ""
    if school_upn and la_upn and school_upn != la_upn:
        lines.append(f"UPN: different ({school_upn} / {la_upn}). A child keeps one UPN for life, so two "
                     "different UPNs are strong evidence of two different children")
    elif school_upn and school_upn == la_upn:
        lines.append("UPN: same")
    return lines


def _percent(probability: float) -> str:
    return f"{probability * 100:.1f}%"


def _best(candidates: list[dict[str, Any]], settings: MatchSettings) -> str:
    score, line = candidates[0].get("score") or 0.0, settings.auto_threshold
    if score < line:
        return f"Score {_percent(score)} is below the automatic match line of {_percent(line)}."
    lead = (candidates[0].get("weight") or 0.0) - (candidates[1].get("weight") or 0.0) if len(candidates) > 1 else None
    if lead is not None and lead < settings.min_lead_bits:
        return (f"Score {_percent(score)} reaches the automatic match line of {_percent(line)}, but the next "
                f"candidate is only {lead:.1f} points behind (at least {settings.min_lead_bits:g} needed), so the "
                "choice is left to you.")
    return f"Score {_percent(score)} reaches the automatic match line of {_percent(line)}."


def auto_line(candidates: list[dict[str, Any]], settings: MatchSettings) -> list[str]:
    """Per candidate, best first: where its score stands against the automatic match line."""
    if not candidates:
        return []
    return [_best(candidates, settings), *(f"Score {_percent(c.get('score') or 0.0)}: not the best candidate."
                                          for c in candidates[1:])]


def why_waiting(reason: str, settings: MatchSettings) -> str:
    """The matching's reason for leaving a record to review, in words with its thresholds;
    any other reason (a reviewer's, the review queue's) as it is."""
    auto = _percent(settings.auto_threshold)
    if reason == "no candidate above the possible threshold":
        return (f"No one in the LA's population scored {_percent(settings.possible_threshold)} or more, the lowest "
                "score offered for review.")
    if reason == "best candidate below the auto threshold":
        return f"The best candidate scored below the automatic match line of {auto}."
    if reason.startswith("second candidate within"):
        return (f"The two best candidates are too close to choose between automatically: the best must lead by at "
                f"least {settings.min_lead_bits:g} points.")
    if reason.startswith("UPN matches but demographics contradict: "):
        against = reason.split(": ", 1)[1].split(", ")
        labels = " and ".join(_COMPARED.get(name, (name,))[0].lower() for name in against)
        return f"The UPN matches a person, but the {labels} contradict it, so it was not matched automatically."
    return reason
