"""Labelled matching benchmark: LA.csv, IN.csv, IN_noupn.csv, truth.csv (link format).

Usage: .venv/bin/python bench/gen_matching_benchmark.py --la-size 250000 --incoming 2000 --out bench/out/250k

Incoming records are pupils (children of the population; topped up with adults
when the population has too few children) with errors at fixed rates, plus 10%
new pupils who are not in the population.  Seed 2026 by default.
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

from b2b_soap.matching._nicknames import NICKNAME_GROUPS, _GROUPS
from b2b_soap.matching.link import COLUMNS
from b2b_soap.matching.normalise import normalise_name
from b2b_soap.matching.upn import upn_check_letter
from b2b_soap.synth import SynthPerson, generate_population

RATES = {"forename_typo": 0.08, "surname_typo": 0.08, "nickname": 0.05, "day_month_swap": 0.03,
         "dob_digit_typo": 0.03, "moved_house": 0.10, "new_surname": 0.02, "missing_postcode": 0.05}
NEW_SHARE = 0.10
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


def write_csv(path: Path, header: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--la-size", type=int, default=5000)
    parser.add_argument("--incoming", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    population, _ = generate_population(args.la_size, seed=args.seed)
    rows, truth, applied = make_incoming(population, args.incoming, args.seed)
    write_csv(args.out / "LA.csv", COLUMNS, [_row(p.id, p) for p in population])
    write_csv(args.out / "IN.csv", COLUMNS, rows)
    write_csv(args.out / "IN_noupn.csv", COLUMNS, [{**r, "upn": ""} for r in rows])
    write_csv(args.out / "truth.csv", ("incoming_id", "la_id"),
              [{"incoming_id": k, "la_id": v} for k, v in truth.items()])
    known = sum(1 for v in truth.values() if v)
    print(f"wrote {args.out}: LA {len(population)}, incoming {len(rows)} ({known} with a partner)")
    print("applied: " + ", ".join(f"{k} {v / known:.3f}" for k, v in sorted(applied.items())))


if __name__ == "__main__":
    main()
