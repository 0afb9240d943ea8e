from collections import Counter, defaultdict
from datetime import date

from b2b_soap.matching.upn import is_valid_upn
from b2b_soap.synth import DEMO_LA, generate_population

TODAY = date(2026, 1, 1)


def _age(dob: date, today: date = TODAY) -> int:
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def test_deterministic_for_seed_and_size():
    a = generate_population(3000, seed=7)
    b = generate_population(3000, seed=7)
    assert a == b
    assert generate_population(3000, seed=8)[0] != a[0]


def test_size_ids_and_fields():
    persons, _ = generate_population(2500)
    assert len(persons) == 2500
    assert [p.id for p in persons[:2]] == ["P0000001", "P0000002"]
    assert len({p.id for p in persons}) == 2500
    assert {p.gender for p in persons} == {"M", "F"}
    assert all(p.forename and p.surname and p.postcode and p.address and p.town and p.uprn for p in persons)
    assert all(" " in p.postcode and p.postcode[-3].isdigit() for p in persons)
    assert any(p.middle_names for p in persons) and any(not p.middle_names for p in persons)


def test_children_have_valid_unique_upns_and_ages():
    persons, _ = generate_population(4000)
    children = [p for p in persons if p.is_child]
    assert len(children) > 1000
    assert all(is_valid_upn(c.upn) and c.upn[1:4] == DEMO_LA for c in children)
    assert len({c.upn for c in children}) == len(children)
    assert all(0 <= _age(c.dob) <= 18 for c in children)
    assert all(not p.upn for p in persons if not p.is_child)


def test_households_share_address_and_carers_are_adults():
    persons, links = generate_population(4000)
    by_id = {p.id: p for p in persons}
    assert links
    for link in links:
        child, carer = by_id[link.child_id], by_id[link.carer_id]
        assert child.is_child and not carer.is_child
        assert child.household == carer.household
        assert (child.address, child.postcode) == (carer.address, carer.postcode)
        assert 20 <= _age(carer.dob) <= 60
        assert link.relationship and link.priority >= 1
    families = defaultdict(list)
    for p in persons:
        families[p.household].append(p)
    with_children = [f for f in families.values() if any(p.is_child for p in f)]
    shared = sum(len({p.surname for p in f}) == 1 for f in with_children) / len(with_children)
    assert shared > 0.6  # surname mostly shared


def test_names_include_diacritics_and_punctuation():
    persons, _ = generate_population(8000)
    names = Counter(p.surname for p in persons) + Counter(p.forename for p in persons)
    assert any("'" in n for n in names) and any("-" in n for n in names)
    assert any(not n.isascii() for n in names)
    assert len({p.forename for p in persons}) > 300 and len({p.surname for p in persons}) > 250
