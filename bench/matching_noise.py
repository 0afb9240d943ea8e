"""Hard-mode corruption of benchmark records (bench/gen_matching_benchmark.py --mode hard).

Written apart from the matcher: the nicknames below are a hand list made for this
benchmark, not the matcher's table, and the typos imitate keyboards, OCR and spelling
by ear rather than the matcher's own edit-distance levels.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date

from b2b_soap.matching.upn import upn_check_letter

__all__ = ["SHORT_FORMS", "KNOWN_RATES", "CONTACT_RATES", "KNOWN_FILLERS", "name_typo", "postcode_typo", "house_number",
           "dob_year_typo", "dob_day_month", "upn_transposed", "temporary_upn", "pick_corruptions"]

# Short and familiar forms, by full name (lower case). Hand-written for the benchmark.
SHORT_FORMS: dict[str, tuple[str, ...]] = {
    "oliver": ("Olly", "Noll"), "george": ("Georgie", "Geo"), "harry": ("Haz", "Hazza"),
    "charlie": ("Chaz", "Chas"), "jacob": ("Jake", "Jakey"), "henry": ("Hal", "Hank"),
    "thomas": ("Tom", "Thom", "Tommo"), "frederick": ("Fred", "Freddy", "Fritz"), "alfred": ("Alf", "Fred"),
    "theodore": ("Ted", "Theo"), "william": ("Will", "Wills", "Billy", "Liam"), "joshua": ("Josh", "Joss"),
    "alexander": ("Alex", "Xander", "Alec", "Sandy"), "james": ("Jim", "Jimmy", "Jamie", "Jay"),
    "isaac": ("Ike", "Zac"), "edward": ("Ed", "Eddie", "Ned", "Ted"), "benjamin": ("Ben", "Benji", "Benny"),
    "joseph": ("Joe", "Joey", "Jo"), "sebastian": ("Seb", "Bash"), "daniel": ("Dan", "Danny"),
    "samuel": ("Sam", "Sammy"), "zachary": ("Zach", "Zak"), "louis": ("Lou", "Louie"),
    "michael": ("Mike", "Mikey", "Mick"), "david": ("Dave", "Davy"), "robert": ("Rob", "Bob", "Robbie", "Bobby"),
    "matthew": ("Matt", "Matty"), "nathaniel": ("Nat", "Nate", "Nathan"), "christopher": ("Chris", "Kit"),
    "nathan": ("Nate",), "gabriel": ("Gabe",), "patrick": ("Pat", "Paddy"), "cameron": ("Cam",),
    "dominic": ("Dom",), "andrew": ("Andy", "Drew"), "stephen": ("Steve", "Stevie"), "steven": ("Steve",),
    "peter": ("Pete",), "richard": ("Rich", "Dick", "Ricky"), "anthony": ("Tony", "Ant"), "kevin": ("Kev",),
    "martin": ("Marty",), "gregory": ("Greg",), "francis": ("Frank", "Fran"), "vincent": ("Vince", "Vinny"),
    "benedict": ("Ben", "Benny"), "stanley": ("Stan",), "reginald": ("Reg",), "albert": ("Bert", "Al"),
    "harrison": ("Harry",), "frankie": ("Frank",), "elliot": ("Eli",), "reuben": ("Rube",),
    "olivia": ("Liv", "Livvy", "Livia"), "amelia": ("Millie", "Amy", "Mel"), "isabella": ("Bella", "Izzy", "Issy"),
    "isabelle": ("Izzy", "Belle"), "florence": ("Flo", "Florrie", "Flossie"), "sophia": ("Sophie", "Sof"),
    "charlotte": ("Lottie", "Charlie", "Lotte"), "matilda": ("Tilly", "Tilda", "Mattie"),
    "elizabeth": ("Liz", "Lizzie", "Beth", "Betty", "Libby", "Eliza"), "katherine": ("Kate", "Katie", "Kathy", "Kat"),
    "margaret": ("Maggie", "Meg", "Peggy", "Greta"), "victoria": ("Vicky", "Tori"), "rebecca": ("Becky", "Becca"),
    "jennifer": ("Jen", "Jenny"), "samantha": ("Sam", "Sammie"), "natalie": ("Nat",), "abigail": ("Abby", "Abi"),
    "penelope": ("Penny", "Pen"), "evelyn": ("Evie", "Eve"), "emily": ("Em", "Emmy"), "harriet": ("Hattie", "Harri"),
    "jessica": ("Jess", "Jessie"), "georgia": ("Georgie",), "georgina": ("Georgie", "Gina"),
    "annabelle": ("Annie", "Belle"), "arabella": ("Bella", "Bel"), "dorothy": ("Dot", "Dolly", "Dottie"),
    "winifred": ("Winnie", "Freda"), "deborah": ("Debbie", "Deb"), "susan": ("Sue", "Susie"),
    "caroline": ("Caz", "Carrie"), "amanda": ("Mandy",), "nicola": ("Nicky", "Nic"), "hannah": ("Han",),
    "beatrice": ("Bea", "Trixie"), "imogen": ("Immy", "Imi"), "martha": ("Mattie",), "agnes": ("Aggie",),
    "felicity": ("Flick",), "eleanor": ("Ellie", "Nell"), "eliza": ("Liza",), "rachel": ("Rach",),
    "michelle": ("Shell", "Mich"), "angela": ("Angie",), "tracey": ("Trace",), "jacqueline": ("Jackie",),
    "octavia": ("Tavi",), "ophelia": ("Phee",), "penny": ("Pen",), "mabel": ("Mae",),
}

# keys next to each other on a UK keyboard
_KEYBOARD = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij", "i": "uok", "o": "ipl",
    "p": "ol", "a": "qsz", "s": "adwx", "d": "sfec", "f": "dgrv", "g": "fhtb", "h": "gjyn", "j": "hkum",
    "k": "jlim", "l": "kop", "z": "asx", "x": "zsc", "c": "xdv", "v": "cfb", "b": "vgn", "n": "bhm", "m": "nj",
}
# what a scanner reads one glyph group as
_OCR = (("rn", "m"), ("m", "rn"), ("cl", "d"), ("d", "cl"), ("h", "li"), ("w", "vv"), ("e", "c"), ("l", "i"),
        ("i", "l"), ("o", "a"), ("u", "ii"), ("n", "ri"), ("b", "h"))
# spellings by ear
_SOUNDS = (("ph", "f"), ("f", "ph"), ("ck", "k"), ("k", "ck"), ("c", "k"), ("ee", "ea"), ("ea", "ee"), ("ie", "y"),
           ("y", "ie"), ("ey", "y"), ("ou", "ow"), ("ai", "ay"), ("s", "z"), ("z", "s"), ("th", "t"), ("tt", "t"),
           ("ll", "l"), ("nn", "n"), ("mm", "m"), ("rr", "r"), ("ss", "s"), ("i", "y"), ("an", "en"), ("er", "a"),
           ("son", "sen"), ("ough", "off"), ("w", "wh"), ("x", "ks"), ("ch", "tch"), ("a", "ah"))

# Per-record rates of the corruptions of a known pupil; a record drawing none of them gets one
# of KNOWN_FILLERS (by weight) instead, so every known pupil has 1 to 3.
KNOWN_RATES = {"missing_dob": 0.05, "missing_forename": 0.03, "names_swapped": 0.03, "name_typo": 0.15,
               "postcode_typo": 0.08, "house_number": 0.08}
KNOWN_FILLERS = {"moved_house": 0.4, "day_month_swap": 0.2, "year_typo": 0.2, "new_surname": 0.2}
# Contacts have no date of birth at all; 0 to 2 of these besides.
CONTACT_RATES = {"missing_forename": 0.10, "names_swapped": 0.03, "name_typo": 0.15, "postcode_typo": 0.08,
                 "house_number": 0.08, "moved_house": 0.05, "new_surname": 0.03}


def pick_corruptions(rng: random.Random, rates: dict[str, float], fillers: dict[str, float], most: int
                     ) -> list[str]:
    """Each corruption with its rate; one filler (by weight) when none was drawn; at most ``most``."""
    chosen = [kind for kind in rates if rng.random() < rates[kind]]
    if not chosen and fillers:
        chosen = rng.choices(list(fillers), weights=list(fillers.values()))
    return rng.sample(chosen, most) if len(chosen) > most else chosen


def _replace_one(rng: random.Random, text: str, table: tuple[tuple[str, str], ...]) -> str | None:
    lower = text.lower()
    options = [(old, new, at) for old, new in table for at in range(1, len(lower))
               if lower.startswith(old, at)]
    if not options:
        return None
    old, new, at = rng.choice(options)
    return _recase(text[:at] + new + text[at + len(old):])


def _recase(text: str) -> str:
    return text[:1].upper() + text[1:].lower()


def _keyboard(rng: random.Random, text: str) -> str:
    spots = [i for i in range(1, len(text)) if text[i].lower() in _KEYBOARD]
    if not spots:
        return text + "e"
    i = rng.choice(spots)
    if rng.random() < 0.3:  # a key pressed twice
        return text[:i] + text[i] + text[i:]
    return text[:i] + rng.choice(_KEYBOARD[text[i].lower()]) + text[i + 1:]


def name_typo(rng: random.Random, name: str, forename: bool) -> str:
    """A keyboard, OCR or spelling-by-ear error, or (for forenames) a short form."""
    if forename and rng.random() < 0.25:
        forms = SHORT_FORMS.get(name.lower())
        if forms:
            return rng.choice(forms)
    kind = rng.random()
    table = _OCR if kind < 0.3 else _SOUNDS if kind < 0.65 else None
    changed = _replace_one(rng, name, table) if table else None
    return changed or _keyboard(rng, name)


def postcode_typo(rng: random.Random, postcode: str) -> str:
    """One digit of the postcode wrong, or two neighbouring characters swapped."""
    digits = [i for i, ch in enumerate(postcode) if ch.isdigit()]
    if digits and rng.random() < 0.6:
        i = rng.choice(digits)
        return postcode[:i] + rng.choice([d for d in "0123456789" if d != postcode[i]]) + postcode[i + 1:]
    spots = [i for i in range(len(postcode) - 1) if " " not in postcode[i:i + 2] and postcode[i] != postcode[i + 1]]
    if not spots:
        return postcode
    i = rng.choice(spots)
    return postcode[:i] + postcode[i + 1] + postcode[i] + postcode[i + 2:]


def house_number(rng: random.Random, address: str) -> str:
    """House number dropped, or changed to a neighbour's."""
    number, _, street = address.partition(" ")
    if not number.isdigit():
        return address
    if rng.random() < 0.5:
        return street
    return f"{max(1, int(number) + rng.choice((-2, -1, 1, 2, 10)))} {street}"


def _another_date(dob: date, attempt: Callable[[], date]) -> date:
    """The first valid date ``attempt`` makes that differs from ``dob`` (``dob`` after 20 misses)."""
    for _ in range(20):
        try:
            changed = attempt()
        except ValueError:
            continue
        if changed != dob and changed.year <= 2025:
            return changed
    return dob


def dob_year_typo(rng: random.Random, dob: date) -> date:
    """The year one out, or its last digit mistyped."""
    return _another_date(dob, lambda: dob.replace(
        year=dob.year + rng.choice((-1, 1)) if rng.random() < 0.5 else dob.year // 10 * 10 + rng.randrange(10)))


def dob_day_month(rng: random.Random, dob: date) -> date:
    """Day and month swapped (US order); when the day cannot be a month, a day digit mistyped."""
    if dob.day <= 12 and dob.day != dob.month:
        return date(dob.year, dob.day, dob.month)
    return _another_date(dob, lambda: dob.replace(day=dob.day // 10 * 10 + rng.randrange(10)))


def upn_transposed(rng: random.Random, upn: str) -> str:
    """Two neighbouring different digits swapped (the check letter is left as it was)."""
    spots = [i for i in range(4, 12) if upn[i] != upn[i + 1]]
    if not spots:
        return upn
    i = rng.choice(spots)
    return upn[:i] + upn[i + 1] + upn[i] + upn[i + 2:]


def temporary_upn(rng: random.Random, upn: str) -> str:
    """A valid temporary UPN (letter last) from the same LA and school."""
    tail = upn[1:10] + f"{rng.randrange(100):02d}" + rng.choice("ABCDEFGHJKLMNPQRTUVWXYZ")
    return upn_check_letter(tail) + tail
