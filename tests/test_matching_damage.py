"""Records with several damaged fields, and the UPN as evidence, on hand-made cases."""

from datetime import date

import pytest

from b2b_soap.matching import PopulationIndex, Record, make_upn, upn_check_letter
from tests.test_matching_rules import UPN_ALEX, decide, incoming, index, model  # noqa: F401 (fixtures)

# the rules before blocking had to survive two damaged fields
OLD_RULES = ("upn", "dob+gender", "surname_phonetic+birth_year+gender", "forename_phonetic+surname_phonetic",
             "postcode+forename_initial", "forename_phonetic+dob_year_month")
MOVED = dict(address="40 Canal Street", town="Pudsey", postcode="LS28 7RT")


def _proposes(index, rule, record):
    left, right = index.rule_pairs(rule, index.encode([record]))
    return index.row_of[record.id[3:]] in right.tolist()


@pytest.mark.parametrize("rule, record", [
    ("names_phonetic_any_order", incoming("L2", forename="O'Brien", surname="Katherine", dob=None, **MOVED)),
    ("surname_phonetic+postcode", incoming("L7", forename="", dob=None, address="9 Moor View")),
    ("address+postcode", incoming("L6", forename="", surname="Sullivan", dob=None)),
    ("address+town", incoming("L6", forename="", surname="Sullivan", dob=None, postcode="LS9 5NP")),
])
def test_each_new_rule_proposes_what_the_old_rules_missed(index, rule, record):
    assert _proposes(index, rule, record)
    assert not any(_proposes(index, old, record) for old in OLD_RULES)


# the rules that catch pupils with any two fields damaged, before the contacts' rules
PUPIL_RULES = (*OLD_RULES, "names_phonetic_any_order", "surname_phonetic+postcode", "address+postcode",
               "address+town")


@pytest.mark.parametrize("rule, record", [
    # a contact (no DOB) who moved house, with both names mistyped
    ("surname_phonetic+forename_initial+gender_without_dob",
     incoming("L2", forename="Kathy", surname="O'Brein", dob=None, **MOVED)),
    # a contact without forename who moved house: only the (rare) surname is left
    ("surname+gender_without_forename", incoming("L7", forename="", dob=None, **MOVED)),
])
def test_contact_rules_propose_what_the_pupil_rules_missed(index, rule, record):
    assert _proposes(index, rule, record)
    assert not any(_proposes(index, old, record) for old in PUPIL_RULES)


def test_surname_alone_is_looked_up_only_without_forename_and_when_few_share_it():
    people = [Record(f"P{n}", "", f"Name{n}", "", "Quarrie" if n < 21 else "Pemberton", date(1980, 1, 1 + n % 28),
                     "M", f"{n} Ash Row", "Leeds", "LS1 1AA") for n in range(25)]
    index = PopulationIndex(people)
    probes = [Record("IN1", "", "", "", "Pemberton", None, "M", "", "", ""),
              Record("IN2", "", "Tobias", "", "Pemberton", None, "M", "", "", ""),
              Record("IN3", "", "", "", "Quarrie", None, "M", "", "", ""),
              Record("IN4", "", "", "", "Pemberton", None, "F", "", "", "")]
    left, right = index.rule_pairs("surname+gender_without_forename", index.encode(probes))
    proposed = {(probes[i].id, index.ids[r]) for i, r in zip(left.tolist(), right.tolist())}
    assert {p for p in proposed if p[0] == "IN1"} == {("IN1", f"P{n}") for n in range(21, 25)}
    assert not any(p[0] in ("IN2", "IN3", "IN4") for p in proposed)  # a forename; 21 Quarries; other gender


def test_persons_without_dob_are_found_by_initials_in_the_district_by_every_record():
    people = [Record("P1", "", "Noor", "", "Lee", None, "F", "122 Forge Court", "Leeds", "LS8 1RZ"),
              Record("P2", "", "Nora", "", "Lowe", date(1980, 5, 5), "F", "9 Forge Court", "Leeds", "LS8 1RZ")]
    index = PopulationIndex(people)
    # both names mistyped, moved within the district, the record's own DOB given
    probe = Record("IN1", "", "Naor", "", "Ler", date(1984, 7, 3), "F", "132 Forge Court", "Leeds", "LS8 3RZ")
    rule = "initials+postcode_district+gender_population_without_dob"
    left, right = index.rule_pairs(rule, index.encode([probe]))
    assert [index.ids[r] for r in right.tolist()] == ["P1"]  # P2 has a DOB: the other rules look for her
    rules = (*PUPIL_RULES, "surname_phonetic+forename_initial+gender_without_dob", "surname+gender_without_forename")
    assert not any(index.rule_pairs(old, index.encode([probe]))[1].size for old in rules)


@pytest.mark.parametrize("base, forename, surname", [("L2", "O'Brein", "Katherine"), ("L2", "OBrien", "Kaatherlne"),
                                                     ("L1", "Smith-Jones", "Bill")])
def test_names_swapped_with_typos_or_a_nickname_are_a_swap(index, model, base, forename, surname):
    result = decide(index, model, incoming(base, forename=forename, surname=surname))
    assert result.decision == "auto" and result.match.la_id == base
    levels = {s.name: s.level for s in result.match.comparisons}
    assert (levels["forename"], levels["surname"]) == ("swapped with surname", "swapped with forename")


def _upn_level(result, la_id):
    [candidate] = [c for c in result.candidates if c.la_id == la_id]
    return {s.name: s.level for s in candidate.comparisons}["upn"]


def test_different_valid_permanent_upn_goes_to_review(index, model):
    # every demographic field agrees, but the UPN is another child's (nobody in the population holds it)
    other = make_upn("999", "5555", 2017, 4)
    result = decide(index, model, incoming("L1", upn=other))
    assert result.decision == "possible" and result.reason == "valid permanent UPNs differ"
    assert result.candidates[0].la_id == "L1"
    assert _upn_level(result, "L1") == "different permanent"


def test_transposed_upn_is_close_and_still_matches(index, model):
    transposed = UPN_ALEX[:8] + UPN_ALEX[9] + UPN_ALEX[8] + UPN_ALEX[10:]  # "17" becomes "71"
    assert transposed != UPN_ALEX
    result = decide(index, model, incoming("L1", upn=transposed))
    assert result.decision == "auto" and result.match.la_id == "L1"
    assert _upn_level(result, "L1") == "one character or transposition"


def test_temporary_upn_says_nothing(index, model):
    tail = make_upn("999", "5555", 2017, 5)[1:-1] + "A"
    temporary = upn_check_letter(tail) + tail
    result = decide(index, model, incoming("L1", upn=temporary))
    assert result.decision == "auto" and result.match.la_id == "L1"
    assert _upn_level(result, "L1") == "null"


def test_upn_outweighs_typos_in_two_fields(index, model):
    # the right UPN with a mistyped year and forename: typos, not another child
    result = decide(index, model, incoming("L1", upn=UPN_ALEX, forename="Harvey", dob=date(2009, 3, 4)))
    assert result.decision == "auto" and result.match.la_id == "L1" and result.reason == "UPN matches"
