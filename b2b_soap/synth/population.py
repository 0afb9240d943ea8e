"""Deterministic synthetic LA population: households of carers and children.

Everything comes from one ``random.Random(seed)`` drawing from prebuilt,
rank-weighted lists, so a seed and a size always give the same people and
250,000 persons take a few seconds.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from b2b_soap.matching.upn import make_upn
from b2b_soap.synth import _names

__all__ = ["SynthPerson", "SynthCarerLink", "generate_population", "DEMO_LA", "DEMO_ESTABS"]

DEMO_LA = "999"
DEMO_ESTABS = ("4001", "4002", "4003", "4004")
# Further establishments take the overflow once a (estab, year) runs out of serials.
_OTHER_ESTABS = tuple(f"{n:04d}" for n in itertools.chain(range(2001, 2041), range(3301, 3311)))


@dataclass(frozen=True, slots=True)
class SynthPerson:
    """One synthetic person as the LA holds them."""

    id: str
    upn: str
    forename: str
    middle_names: str
    surname: str
    preferred_surname: str
    dob: date
    gender: str
    address: str
    town: str
    postcode: str
    uprn: str
    phone: str
    email: str
    household: int
    is_child: bool


@dataclass(frozen=True, slots=True)
class SynthCarerLink:
    """A child → carer relationship within a household."""

    child_id: str
    carer_id: str
    relationship: str
    parental_responsibility: bool
    priority: int


def _choice(rng: random.Random, items):
    return items[int(rng.random() * len(items))]


def _randint(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


class _Picker:
    """Rank-weighted choice from a list: weight 1/(rank + offset), a Zipf-like tail.

    The offsets make the commonest names about as common as in England
    (Smith about 1.4% of people, the top forename about 2.5% of a sex).
    """

    def __init__(self, items: list[str], offset: int) -> None:
        self.items = items
        self.cum = list(itertools.accumulate(1.0 / (rank + offset) for rank in range(len(items))))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> str:
        return self.items[bisect.bisect(self.cum, rng.random() * self.total)]


_BOYS, _GIRLS = _Picker(_names.BOYS, 15), _Picker(_names.GIRLS, 15)
_SURNAMES, _MIDDLE = _Picker(_names.SURNAMES, 30), _Picker(_names.MIDDLE_NAMES, 15)


@functools.lru_cache(maxsize=4096)
def _ascii_local(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# children per family: 1 (35%), 2 (40%), 3 (18%), 4 (7%)
_CHILD_COUNTS = (1,) * 35 + (2,) * 40 + (3,) * 18 + (4,) * 7


class _Streets:
    """Street table built on demand: each street sits in one district and sector,
    with a postcode unit per block of 25 house numbers."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rows = []
        for index in range(count):
            town, outward, sectors = _names.DISTRICTS[index % len(_names.DISTRICTS)]
            name = f"{rng.choice(_names.STREETS)} {rng.choice(_names.STREET_TYPES)}"
            sector = rng.choice(sectors)
            units = [f"{outward} {sector}{rng.choice(_names.INWARD_LETTERS)}{rng.choice(_names.INWARD_LETTERS)}"
                     for _ in range(6)]
            self.rows.append((name, town, units))

    def address(self, rng: random.Random) -> tuple[str, str, str, str]:
        index = int(rng.random() * len(self.rows))
        name, town, units = self.rows[index]
        house = _randint(rng, 1, 150)
        uprn = f"{100000000000 + index * 1000 + house:012d}"
        return f"{house} {name}", town, units[(house - 1) // 25], uprn


class _Builder:
    def __init__(self, size: int, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.size, self.today = size, today
        self.persons: list[SynthPerson] = []
        self.links: list[SynthCarerLink] = []
        self.streets = _Streets(self.rng, max(40, size // 40))
        self.serials: dict[tuple[str, int], int] = {}
        self.email_seq = itertools.count(1)
        self.age_spans: dict[tuple[int, int], tuple[int, int]] = {}

    def dob(self, min_age: int, max_age: int) -> date:
        """Uniform over the birth dates that give an age in [min_age, max_age] today."""
        span = self.age_spans.get((min_age, max_age))
        if span is None:
            latest = _years_before(self.today, min_age).toordinal()
            earliest = (_years_before(self.today, max_age + 1) + timedelta(days=1)).toordinal()
            span = self.age_spans[min_age, max_age] = (latest, latest - earliest + 1)
        return date.fromordinal(span[0] - int(self.rng.random() * span[1]))

    def upn(self, dob: date) -> str:
        entry_year = dob.year + 5 if dob.month >= 9 else dob.year + 4
        estabs = DEMO_ESTABS if self.rng.random() < 0.7 else _OTHER_ESTABS
        estab = _choice(self.rng, estabs)
        for candidate in itertools.chain([estab], DEMO_ESTABS, _OTHER_ESTABS):
            serial = self.serials.get((candidate, entry_year), 0)
            if serial < 1000:
                self.serials[candidate, entry_year] = serial + 1
                return make_upn(DEMO_LA, candidate, entry_year, serial)
        return ""  # every serial of that entry year is used: leave the UPN blank

    def person(self, gender: str, surname: str, dob: date, home: tuple, household: int,
               is_child: bool, phone: str) -> SynthPerson:
        rng = self.rng
        forename = (_BOYS if gender == "M" else _GIRLS).pick(rng)
        middle = ""
        if rng.random() < 0.45:
            middle = _MIDDLE.pick(rng) if rng.random() < 0.85 else f"{_MIDDLE.pick(rng)} {_MIDDLE.pick(rng)}"
        preferred = surname
        if rng.random() < 0.03:
            preferred = _SURNAMES.pick(rng)
        address, town, postcode, uprn = home
        email = ""
        if not is_child or (self.today.year - dob.year >= 13 and rng.random() < 0.3):
            domain = _choice(rng, ("example.com", "example.org", "example.net"))
            email = f"{_ascii_local(forename)}.{_ascii_local(surname)}{next(self.email_seq)}@{domain}"
        pid = f"P{len(self.persons) + 1:07d}"
        upn = self.upn(dob) if is_child else ""
        return SynthPerson(pid, upn, forename, middle, surname, preferred, dob, gender,
                           address, town, postcode, uprn, phone, email, household, is_child)

    def mobile(self) -> str:
        return f"07{_randint(self.rng, 100000000, 999999999)}"

    def household(self, household: int) -> None:
        rng = self.rng
        home = self.streets.address(rng)
        surname = _SURNAMES.pick(rng)
        if rng.random() < 0.22:  # a standalone adult
            gender = _choice(rng, "MF")
            self.persons.append(self.person(gender, surname, self.dob(18, 85), home, household,
                                            False, self.mobile()))
            return
        carers = []
        mother_age = _randint(rng, 20, 52)
        first_gender = "F" if rng.random() < 0.9 else "M"
        genders = [first_gender] if rng.random() < 0.3 else [first_gender, "M" if first_gender == "F" else "F"]
        for index, gender in enumerate(genders):
            age = mother_age if index == 0 else min(60, max(20, mother_age + _randint(rng, -3, 8)))
            own_surname = surname if index == 0 or rng.random() < 0.8 else _SURNAMES.pick(rng)
            carer = self.person(gender, own_surname, self.dob(age, age), home, household, False, self.mobile())
            self.persons.append(carer)
            carers.append(carer)
        for _ in range(_choice(rng, _CHILD_COUNTS)):
            if len(self.persons) >= self.size:
                return
            age = _randint(rng, 0, min(18, mother_age - 18))
            child_surname = surname if rng.random() < 0.93 else carers[-1].surname
            child = self.person(_choice(rng, "MF"), child_surname, self.dob(age, age), home, household,
                                True, "")
            self.persons.append(child)
            self.link(child, carers)

    def link(self, child: SynthPerson, carers: list[SynthPerson]) -> None:
        for priority, carer in enumerate(carers, start=1):
            if self.rng.random() < 0.92:
                relationship = "Mother" if carer.gender == "F" else "Father"
                responsibility = True
            else:
                relationship, responsibility = _choice(self.rng, _names.RELATIONSHIPS_ADULT[2:])
            self.links.append(SynthCarerLink(child.id, carer.id, relationship, responsibility, priority))


def generate_population(size: int, seed: int = 2026, today: date | None = None
                        ) -> tuple[list[SynthPerson], list[SynthCarerLink]]:
    """Make ``size`` synthetic persons in households, with carer links.

    Args:
        size: number of persons.
        seed: random seed; the same seed, size and ``today`` give the same output.
        today: reference date for ages (default 2026-01-01 so output does not
            drift with the calendar).

    Returns:
        The persons (ids ``P0000001``…) and the child → carer links.
    """
    if size < 0:
        raise ValueError("size must be >= 0")
    builder = _Builder(size, seed, today or date(2026, 1, 1))
    household = 0
    while len(builder.persons) < size:
        household += 1
        builder.household(household)
    del builder.persons[size:]
    kept = {person.id for person in builder.persons}
    links = [link for link in builder.links if link.child_id in kept and link.carer_id in kept]
    return builder.persons, links
