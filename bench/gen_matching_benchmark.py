"""Labelled matching benchmark: LA.csv, IN.csv, IN_noupn.csv, truth.csv (link format).

Usage: .venv/bin/python bench/gen_matching_benchmark.py --la-size 250000 --incoming 2000 --out bench/out/250k
       [--mode hard] [--seed N]

Incoming records are pupils (children of the population; topped up with adults
when the population has too few children) with errors at fixed rates, plus 10%
new pupils who are not in the population.  Seed 2026 by default.

``--mode hard`` (bench/matching_noise.py) gives every known pupil 1 to 3 corruptions
(missing DOB, missing forename, names swapped, keyboard/OCR/by-ear typos and short forms
from a hand list that is not the matcher's, postcode digit typos and transpositions, house
number dropped or changed, day/month swap, year typo, moved house, new surname), damages
UPNs (1% transposed digits, 2% temporary, 5% missing), blanks 2% of the LA's dates of
birth, and adds pupils not in the population who resemble someone in it: twins and
siblings of population children and namesakes (same names, DOB and gender, another
home), each with a valid UPN of their own. It also writes contacts (CONTACTS.csv,
contacts_truth.csv, matched against LA_carers.csv, the adults): no DOB, 10% without
forename, a relationship, 0 to 2 corruptions, and 10% not in the population.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections import Counter
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matching_noise as noise  # noqa: E402
from b2b_soap.matching._nicknames import NICKNAME_GROUPS, _GROUPS
from b2b_soap.matching.link import COLUMNS
from b2b_soap.matching.normalise import normalise_name
from b2b_soap.matching.upn import upn_check_letter
from b2b_soap.synth import SynthPerson, generate_population

RATES = {"forename_typo": 0.08, "surname_typo": 0.08, "nickname": 0.05, "day_month_swap": 0.03,
         "dob_digit_typo": 0.03, "moved_house": 0.10, "new_surname": 0.02, "missing_postcode": 0.05}
NEW_SHARE = 0.10
# hard mode: shares of incoming pupils not in the population who resemble a population child
LOOKALIKE_SHARES = {"twin": 0.03, "sibling": 0.02, "namesake": 0.01}
UPN_RATES = {"upn_transposed": 0.01, "upn_temporary": 0.02, "upn_missing": 0.05}
LA_MISSING_DOB = 0.02
CONTACT_NEW_SHARE = 0.10
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _typo(rng: random.Random, text: str) -> str:
    """One-character substitution, deletion, insertion or transposition."""
    if len(text) < 2:
        return text + rng.choice(_LETTERS)
    i = rng.randrange(1, len(text)) if rng.random() < 0.8 else 0
    kind = rng.choice(("sub", "del", "ins", "swap"))
    if kind == "sub":
        return text[:i] + rng.choice(_LETTERS) + text[i + 1:]
    if kind == "del":
        return text[:i] + text[i + 1:]
    if kind == "ins":
        return text[:i] + rng.choice(_LETTERS) + text[i:]
    j = min(i + 1, len(text) - 1) if i + 1 < len(text) else i - 1
    chars = list(text)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def _nickname(rng: random.Random, forename: str) -> str | None:
    groups = NICKNAME_GROUPS.get(normalise_name(forename))
    if not groups:
        return None
    names = [n for g in sorted(groups) for n in _GROUPS[g].split() if n != normalise_name(forename)]
    return rng.choice(names).capitalize() if names else None


def _digit_typo(rng: random.Random, dob: date) -> date:
    text = dob.strftime("%Y%m%d")
    for _ in range(50):
        i = rng.randrange(8)
        changed = text[:i] + rng.choice([d for d in "0123456789" if d != text[i]]) + text[i + 1:]
        try:
            new = date(int(changed[:4]), int(changed[4:6]), int(changed[6:]))
        except ValueError:
            continue
        if new.year > 1900 and new <= date(2026, 1, 1):
            return new
    return dob


def _row(pid: str, p: SynthPerson, **changes) -> dict[str, str]:
    row = {"id": pid, "upn": p.upn, "forename": p.forename, "surname": p.surname,
           "dob": p.dob.isoformat(), "gender": p.gender, "address": p.address, "town": p.town,
           "postcode": p.postcode}
    row.update(changes)
    return row


def make_incoming(population: list[SynthPerson], n_incoming: int, seed: int
                  ) -> tuple[list[dict[str, str]], dict[str, str], Counter]:
    rng = random.Random(seed)
    n_new = round(n_incoming * NEW_SHARE)
    n_known = n_incoming - n_new
    children = [p for p in population if p.is_child]
    adults = [p for p in population if not p.is_child]
    chosen = rng.sample(children, min(n_known, len(children)))
    chosen += rng.sample(adults, n_known - len(chosen))
    new_people, _ = generate_population(max(4 * n_new, 100), seed=seed + 1)
    new_children = rng.sample([p for p in new_people if p.is_child], n_new)
    applied: Counter = Counter()
    nick_share = sum(_nickname(rng, p.forename) is not None for p in chosen) / max(len(chosen), 1)
    swap_share = sum(p.dob.day <= 12 and p.dob.day != p.dob.month for p in chosen) / max(len(chosen), 1)
    rows, truth = [], {}
    for number, person in enumerate(chosen + new_children, start=1):
        pid = f"I{number:07d}"
        if number > len(chosen):
            # new pupils: UPNs from an establishment the population never uses
            upn = person.upn[:4] + "7" + person.upn[5:] if person.upn else ""
            upn = upn_check_letter(upn[1:]) + upn[1:] if upn else ""
            rows.append(_row(pid, person, upn=upn))
            truth[pid] = ""
            continue
        truth[pid] = person.id
        change: dict[str, str] = {}
        if rng.random() < RATES["nickname"] / max(nick_share, 1e-9):
            nick = _nickname(rng, person.forename)
            if nick:
                change["forename"] = nick
                applied["nickname"] += 1
        if rng.random() < RATES["forename_typo"]:
            change["forename"] = _typo(rng, change.get("forename", person.forename))
            applied["forename_typo"] += 1
        if rng.random() < RATES["new_surname"]:
            change["surname"] = rng.choice([p.surname for p in rng.sample(population, 5)
                                            if p.surname != person.surname] or ["Newname"])
            applied["new_surname"] += 1
        if rng.random() < RATES["surname_typo"]:
            change["surname"] = _typo(rng, change.get("surname", person.surname))
            applied["surname_typo"] += 1
        dob = person.dob
        if rng.random() < RATES["day_month_swap"] / max(swap_share, 1e-9) \
                and dob.day <= 12 and dob.day != dob.month:
            dob = date(dob.year, dob.day, dob.month)
            applied["day_month_swap"] += 1
        if rng.random() < RATES["dob_digit_typo"]:
            dob = _digit_typo(rng, dob)
            applied["dob_digit_typo"] += 1
        change["dob"] = dob.isoformat()
        if rng.random() < RATES["moved_house"]:
            home = rng.choice(population)
            change.update(address=home.address, town=home.town, postcode=home.postcode)
            applied["moved_house"] += 1
        if rng.random() < RATES["missing_postcode"]:
            change["postcode"] = ""
            applied["missing_postcode"] += 1
        rows.append(_row(pid, person, **change))
    return rows, truth, applied


def _other_upn(upn: str, digit: str) -> str:
    """A valid permanent UPN of an establishment the population never uses (digit 5 set to ``digit``)."""
    if not upn:
        return ""
    tail = upn[1:4] + digit + upn[5:]
    return upn_check_letter(tail) + tail


def _corrupt(rng: random.Random, row: dict[str, str], kinds: list[str], population: list[SynthPerson]) -> None:
    """Apply hard-mode corruptions to one incoming row, in a fixed order."""
    if "new_surname" in kinds:
        row["surname"] = rng.choice([p.surname for p in rng.sample(population, 5)
                                     if p.surname != row["surname"]] or ["Newname"])
    if "name_typo" in kinds:
        which = rng.choice(("forename", "surname", "both"))
        for field in ("forename", "surname"):
            if which in (field, "both"):
                row[field] = noise.name_typo(rng, row[field], field == "forename")
    if "names_swapped" in kinds:
        row["forename"], row["surname"] = row["surname"], row["forename"]
    if "missing_forename" in kinds:
        row["forename"] = ""
    if "moved_house" in kinds:
        home = rng.choice(population)
        row.update(address=home.address, town=home.town, postcode=home.postcode)
    if "house_number" in kinds:
        row["address"] = noise.house_number(rng, row["address"])
    if "postcode_typo" in kinds:
        row["postcode"] = noise.postcode_typo(rng, row["postcode"])
    if row["dob"]:
        dob = date.fromisoformat(row["dob"])
        if "day_month_swap" in kinds:
            dob = noise.dob_day_month(rng, dob)
        if "year_typo" in kinds:
            dob = noise.dob_year_typo(rng, dob)
        row["dob"] = "" if "missing_dob" in kinds else dob.isoformat()


def _damage_upn(rng: random.Random, row: dict[str, str], applied: Counter) -> None:
    if not row["upn"]:
        return
    draw = rng.random()
    if draw < UPN_RATES["upn_transposed"]:
        row["upn"], kind = noise.upn_transposed(rng, row["upn"]), "upn_transposed"
    elif draw < UPN_RATES["upn_transposed"] + UPN_RATES["upn_temporary"]:
        row["upn"], kind = noise.temporary_upn(rng, row["upn"]), "upn_temporary"
    elif draw < sum(UPN_RATES.values()):
        row["upn"], kind = "", "upn_missing"
    else:
        return
    applied[kind] += 1


def _lookalike(rng: random.Random, kind: str, pid: str, person: SynthPerson, population: list[SynthPerson],
               forenames: dict[str, list[str]]) -> dict[str, str]:
    """A pupil not in the population who resembles ``person``: twin, sibling or namesake."""
    row = _row(pid, person, upn=_other_upn(person.upn, "8"))
    if kind == "namesake":
        home = rng.choice(population)
        row.update(address=home.address, town=home.town, postcode=home.postcode)
        return row
    gender = rng.choice("MF")
    row.update(gender=gender, forename=rng.choice([f for f in forenames[gender] if f != person.forename]))
    if kind == "sibling":
        years = rng.choice((-4, -3, -2, -1, 1, 2, 3))
        born = person.dob.replace(year=person.dob.year + years, day=min(person.dob.day, 28))
        row["dob"] = min(born, date(2025, 12, 31)).isoformat()
    return row


def make_hard_incoming(population: list[SynthPerson], n_incoming: int, seed: int
                       ) -> tuple[list[dict[str, str]], dict[str, str], Counter]:
    """Known pupils with 1-3 corruptions each, new pupils, and look-alikes of population children."""
    rng = random.Random(seed)
    n_like = {kind: round(n_incoming * share) for kind, share in LOOKALIKE_SHARES.items()}
    n_new = round(n_incoming * NEW_SHARE)
    n_known = n_incoming - n_new - sum(n_like.values())
    children = [p for p in population if p.is_child]
    adults = [p for p in population if not p.is_child]
    chosen = rng.sample(children, min(n_known, len(children)))
    chosen += rng.sample(adults, n_known - len(chosen))
    forenames = {g: [p.forename for p in children if p.gender == g] for g in "MF"}
    applied: Counter = Counter()
    rows, truth = [], {}
    for person in chosen:
        pid = f"I{len(rows) + 1:07d}"
        row = _row(pid, person)
        kinds = noise.pick_corruptions(rng, noise.KNOWN_RATES, noise.KNOWN_FILLERS, 3)
        applied.update(kinds)
        _corrupt(rng, row, kinds, population)
        _damage_upn(rng, row, applied)
        rows.append(row)
        truth[pid] = person.id
    new_people, _ = generate_population(max(4 * n_new, 100), seed=seed + 1)
    for person in rng.sample([p for p in new_people if p.is_child], n_new):
        pid = f"I{len(rows) + 1:07d}"
        rows.append(_row(pid, person, upn=_other_upn(person.upn, "7")))
        truth[pid] = ""
    for kind, count in n_like.items():
        for person in rng.sample(children, count):
            pid = f"I{len(rows) + 1:07d}"
            rows.append(_lookalike(rng, kind, pid, person, population, forenames))
            truth[pid] = ""
            applied[f"not in population: {kind}"] += 1
    return rows, truth, applied


def damage_la(population: list[SynthPerson], seed: int) -> list[dict[str, str]]:
    """LA rows with a share of dates of birth missing."""
    rng = random.Random(seed + 2)
    rows = [_row(p.id, p) for p in population]
    for row in rows:
        if rng.random() < LA_MISSING_DOB:
            row["dob"] = ""
    return rows


def make_contacts(population: list[SynthPerson], links: list, n_contacts: int, seed: int
                  ) -> tuple[list[dict[str, str]], dict[str, str], Counter]:
    """Carers as a school sends them: no DOB or UPN, a relationship, 0-2 corruptions."""
    rng = random.Random(seed + 3)
    by_id = {p.id: p for p in population}
    relationship = {link.carer_id: link.relationship for link in links}
    carers = [by_id[c] for c in sorted(relationship)]
    n_new = round(n_contacts * CONTACT_NEW_SHARE)
    known = rng.sample(carers, min(n_contacts - n_new, len(carers)))
    strangers, _ = generate_population(max(3 * n_new, 100), seed=seed + 4)
    strangers = rng.sample([p for p in strangers if not p.is_child], n_new)
    applied: Counter = Counter()
    rows, truth = [], {}
    for number, person in enumerate(known + strangers):
        pid = f"C{len(rows) + 1:07d}"
        row = _row(pid, person, upn="", dob="")
        row["relationship"] = relationship.get(person.id) or rng.choice(("Mother", "Father", "Carer"))
        is_known = number < len(known)
        if is_known:
            kinds = noise.pick_corruptions(rng, noise.CONTACT_RATES, {}, 2)
            applied.update(kinds)
            _corrupt(rng, row, kinds, population)
        rows.append(row)
        truth[pid] = person.id if is_known else ""
    return rows, truth, applied


def write_csv(path: Path, header: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def write_contacts(out: Path, population: list[SynthPerson], links: list, la_rows: list[dict[str, str]],
                   n_contacts: int, seed: int) -> None:
    rows, truth, applied = make_contacts(population, links, n_contacts, seed)
    adults = {p.id for p in population if not p.is_child}
    write_csv(out / "LA_carers.csv", COLUMNS, [r for r in la_rows if r["id"] in adults])
    write_csv(out / "CONTACTS.csv", (*COLUMNS, "relationship"), rows)
    write_csv(out / "contacts_truth.csv", ("incoming_id", "la_id"),
              [{"incoming_id": k, "la_id": v} for k, v in truth.items()])
    known = sum(1 for v in truth.values() if v)
    print(f"contacts {len(rows)} ({known} with a partner among {len(adults)} adults): "
          + ", ".join(f"{k} {v / known:.3f}" for k, v in sorted(applied.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--la-size", type=int, default=5000)
    parser.add_argument("--incoming", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--mode", choices=("standard", "hard"), default="standard")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    population, links = generate_population(args.la_size, seed=args.seed)
    if args.mode == "hard":
        rows, truth, applied = make_hard_incoming(population, args.incoming, args.seed)
        la_rows = damage_la(population, args.seed)
        write_contacts(args.out, population, links, la_rows, args.incoming, args.seed)
    else:
        rows, truth, applied = make_incoming(population, args.incoming, args.seed)
        la_rows = [_row(p.id, p) for p in population]
    write_csv(args.out / "LA.csv", COLUMNS, la_rows)
    write_csv(args.out / "IN.csv", COLUMNS, rows)
    write_csv(args.out / "IN_noupn.csv", COLUMNS, [{**r, "upn": ""} for r in rows])
    write_csv(args.out / "truth.csv", ("incoming_id", "la_id"),
              [{"incoming_id": k, "la_id": v} for k, v in truth.items()])
    known = sum(1 for v in truth.values() if v)
    print(f"wrote {args.out}: LA {len(population)}, incoming {len(rows)} ({known} with a partner)")
    print("applied: " + ", ".join(f"{k} {v / known:.3f}" for k, v in sorted(applied.items())))


if __name__ == "__main__":
    main()
