"""Matching settings as data: blocking rules, comparisons, decision thresholds.

Like splink's settings, these are plain frozen dataclasses that round-trip
through a dict (and so JSON); :class:`~b2b_soap.matching.model.MatchModel`
carries them with the trained m/u values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["MatchSettings", "ComparisonSettings", "SettingsError", "BLOCKING_RULES", "DEFAULT_BLOCKING_RULES",
           "COMPARISON_KINDS",
           "DIFFERENT_PERMANENT_UPN"]

# Blocking rules known to PopulationIndex; a pair is a candidate when any rule agrees.
BLOCKING_RULES = (
    "upn",                           # valid UPN, exact
    "dob+gender",                    # date of birth and gender (missing gender is a value of its own)
    "surname_phonetic+birth_year+gender",  # catches day/month swaps and day typos
    "forename_phonetic+surname_phonetic",  # catches DOB typos in the year
    "postcode+forename_initial",     # catches DOB and surname typos together
    "forename_phonetic+dob_year_month",    # catches changed surnames with a day typo
    "names_phonetic_any_order",      # the forename+surname rule that also catches swapped names
    "surname_phonetic+postcode",     # forename and DOB both missing or wrong
    "address+postcode",              # the household: every name and the DOB damaged
    "address+town",                  # the household, with a mistyped postcode
    "surname_phonetic+forename_initial+gender_without_dob",  # no DOB, both names mistyped, moved house
    "surname+gender_without_forename",     # no forename: the surname, when few share it (contacts)
    "initials+postcode_district+gender_population_without_dob",  # no DOB on file, names mistyped, moved
    # wider forms of the second and third rule: at 1,000,000 persons they propose 1.7 times
    # the pairs of the rules above and found no more true matches (docs/matching.md)
    "dob",
    "surname_phonetic+birth_year",
)
DEFAULT_BLOCKING_RULES = ("upn", "dob+gender", "surname_phonetic+birth_year+gender", "postcode+forename_initial",
                          "forename_phonetic+dob_year_month", "names_phonetic_any_order",
                          "surname_phonetic+postcode", "address+postcode", "address+town",
                          "surname_phonetic+forename_initial+gender_without_dob", "surname+gender_without_forename",
                          "initials+postcode_district+gender_population_without_dob")

# Level labels per comparison kind, best first; level 0 is always "null".
COMPARISON_KINDS: dict[str, tuple[str, ...]] = {
    "forename": ("null", "exact", "nickname", "matches middle name", "swapped with surname",
                 "one edit or jaro-winkler >= high", "jaro-winkler >= low", "else"),
    "surname": ("null", "exact", "swapped with forename", "one edit or jaro-winkler >= high",
                "jaro-winkler >= low", "else"),
    # a year one out keeps the day and month, which two people born apart seldom share
    "dob": ("null", "exact", "day/month swapped", "one digit differs", "year differs", "else"),
    "gender": ("null", "exact", "else"),
    "postcode": ("null", "exact", "same sector", "same district", "else"),
    # address and postcode together: one move of house is one piece of evidence
    "address": ("null", "same address and postcode", "same address", "same postcode",
                "similar address", "same sector", "same district", "else"),
    "town": ("null", "exact", "else"),
    # null also when either side is temporary: a temporary UPN says nothing about who it is
    "upn": ("null", "exact", "one character or transposition", "different permanent", "else"),
}
# The UPN level that never matches automatically: two valid permanent UPNs are two children.
DIFFERENT_PERMANENT_UPN = "different permanent"


class SettingsError(ValueError):
    """Settings that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ComparisonSettings:
    """One named comparison.

    Args:
        name: label shown in explanations.
        kind: one of :data:`COMPARISON_KINDS`.
        tf_adjust: weight exact agreement by how rare the value is in the population.
    """

    name: str
    kind: str
    tf_adjust: bool = False

    @property
    def levels(self) -> tuple[str, ...]:
        return COMPARISON_KINDS[self.kind]


def _default_comparisons() -> tuple[ComparisonSettings, ...]:
    return (
        ComparisonSettings("forename", "forename", tf_adjust=True),
        ComparisonSettings("surname", "surname", tf_adjust=True),
        ComparisonSettings("dob", "dob"),
        ComparisonSettings("gender", "gender"),
        ComparisonSettings("address", "address"),
        ComparisonSettings("upn", "upn"),
    )


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """Everything that shapes matching except the trained m/u values.

    Args:
        blocking_rules: names from :data:`BLOCKING_RULES`, OR-ed.
        comparisons: the comparisons scored for every candidate pair.
        auto_threshold: probability a unique best candidate needs to match automatically
            (names alone never suffice: see :mod:`~b2b_soap.matching.decide`).
        possible_threshold: probability a candidate needs to be offered for review.
        min_lead_bits: match weight the best candidate needs over the second best
            to be matched automatically (twins and siblings share most fields).
        generation_years: a candidate whose date of birth is this many years or more from the
            record's, beyond a one-digit typo, is never matched automatically: a parent and a child
            can share names and a home, but not a person.
        max_possible: candidates offered for review, at most.
        max_block_size: blocking keys shared by more population rows are ignored.
        jw_high, jw_low: Jaro-Winkler thresholds of the name levels.
        address_similar: rapidfuzz token-sort ratio (0-100) for "similar" addresses.
        training_sessions: EM sessions as (blocking rule, comparisons it fixes).
            Each session runs EM on the pairs of one rule, leaving out the
            comparisons on the rule's own fields (they agree by construction);
            a comparison's m is the mean over the sessions that estimate it.
            Blocking on one rule keeps households (siblings share surname and
            address) out of the non-match class, which otherwise swallows
            matches that moved house.
        u_sample_pairs: random pairs drawn to estimate u.
        em_max_iterations, em_tolerance: expectation-maximisation stopping rule.
    """

    blocking_rules: tuple[str, ...] = DEFAULT_BLOCKING_RULES
    comparisons: tuple[ComparisonSettings, ...] = field(default_factory=_default_comparisons)
    auto_threshold: float = 0.9
    possible_threshold: float = 0.01
    min_lead_bits: float = 5.0
    generation_years: int = 12
    max_possible: int = 5
    max_block_size: int = 2000
    jw_high: float = 0.92
    jw_low: float = 0.80
    address_similar: float = 85.0
    training_sessions: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("dob", ("dob",)),
        ("forename_phonetic+surname_phonetic", ("forename", "surname")),
    )
    u_sample_pairs: int = 300_000
    em_max_iterations: int = 200
    em_tolerance: float = 1e-6

    def __post_init__(self) -> None:
        problems = [f"unknown blocking rule {rule!r}" for rule in self.blocking_rules
                    if rule not in BLOCKING_RULES]
        problems += [f"unknown comparison kind {c.kind!r}" for c in self.comparisons
                     if c.kind not in COMPARISON_KINDS]
        if not 0.0 < self.possible_threshold <= self.auto_threshold < 1.0:
            problems.append("need 0 < possible_threshold <= auto_threshold < 1")
        names = {c.name for c in self.comparisons}
        for rule, fixed in self.training_sessions:
            if rule not in BLOCKING_RULES:
                problems.append(f"training session: unknown blocking rule {rule!r}")
            problems += [f"training session: unknown comparison {n!r}" for n in fixed if n not in names]
        if self.max_possible < 1:
            problems.append("max_possible must be >= 1")
        if self.generation_years < 1:
            problems.append("generation_years must be >= 1")
        if self.min_lead_bits < 0:
            problems.append("min_lead_bits must be >= 0")
        if problems:
            raise SettingsError(problems)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, JSON-serialisable."""
        data = asdict(self)
        data["blocking_rules"] = list(self.blocking_rules)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchSettings:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingsError([f"unknown setting {name!r}" for name in unknown])
        values = dict(data)
        if "blocking_rules" in values:
            values["blocking_rules"] = tuple(values["blocking_rules"])
        if "training_sessions" in values:
            values["training_sessions"] = tuple((rule, tuple(fixed)) for rule, fixed in values["training_sessions"])
        if "comparisons" in values:
            values["comparisons"] = tuple(ComparisonSettings(**c) for c in values["comparisons"])
        return cls(**values)
