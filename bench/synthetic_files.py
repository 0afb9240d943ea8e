"""Pupils for benchmark transfer files, drawn from the synthetic population (shared by the benches).

Nine in ten are children of the population, a few changed (forename typo, moved house, new
surname), with up to two carers as contacts; one in ten is not in the population.
"""
from __future__ import annotations

import random
import uuid
from datetime import date

from b2b_soap.transfer.models import Bs7666Address, IncomingContact, IncomingPupil
from b2b_soap.transfer.writer import make_example_pupils

__all__ = ["PupilMaker"]

# The pupils not in the population come from another random stream: one seeded like the
# known pupils' would repeat their GUIDs, and a file with a GUID twice is rejected.
NEW_PUPILS_SEED = 1_000_003


def _home(person) -> Bs7666Address:
    return Bs7666Address(paon=person.address, town=person.town, postcode=person.postcode)


class PupilMaker:
    def __init__(self, persons, links) -> None:
        self.by_id = {p.id: p for p in persons}
        self.carers: dict[str, list] = {}
        for link in links:
            self.carers.setdefault(link.child_id, []).append(link)
        today = date.today()
        self.children = [p for p in persons if p.is_child and 5 <= (today - p.dob).days // 365 <= 16]

    def _contacts(self, child, rng: random.Random) -> list[IncomingContact]:
        return [IncomingContact(sims_guid=str(uuid.UUID(int=rng.getrandbits(128))), forename=c.forename,
                                surname=c.surname, relationship="PAM" if c.gender == "F" else "PAF",
                                parental_responsibility=link.parental_responsibility, priority=link.priority,
                                gender=c.gender, address=c.address, town=c.town, postcode=c.postcode,
                                address_detail=_home(c))
                for link in self.carers.get(child.id, [])[:2] for c in [self.by_id[link.carer_id]]]

    def pupils(self, count: int, seed: int, estab: str) -> list[IncomingPupil]:
        """``count`` pupils in random order, the same for the same seed."""
        rng = random.Random(seed)
        chosen = rng.sample(self.children, min(len(self.children), int(count * 0.9)))
        pupils = []
        for child in chosen:
            forename, surname, home = child.forename, child.surname, _home(child)
            roll = rng.random()
            if roll < 0.04:
                forename = forename[:-1] + ("a" if forename[-1] != "a" else "e")
            elif roll < 0.07:
                home = Bs7666Address(paon="3 Mill Lane", town="Northbridge", postcode="NB3 9QT")
            elif roll < 0.09:
                surname = rng.choice(("Robinson", "Ahmed", "Kowalski"))
            contacts = self._contacts(child, rng)
            pupils.append(IncomingPupil(sims_guid=str(uuid.UUID(int=rng.getrandbits(128))), upn=child.upn,
                                        surname=surname, forename=forename, dob=child.dob, ncy="5",
                                        enrol_status="C", entry_date=date(2024, 9, 2), gender=child.gender,
                                        address=home.paon, town=home.town, postcode=home.postcode,
                                        address_detail=home, contacts=contacts))
        pupils += make_example_pupils(count - len(pupils), NEW_PUPILS_SEED + seed,
                                      estab=estab)
        rng.shuffle(pupils)
        return pupils
