"""Hand-made cases for every matching rule, against a fixed reference model.

The reference model's m/u values are rounded from a model trained by EM on
the 250k benchmark; the hand-made people sit inside a synthetic background
population so the prior is realistic.
"""

from dataclasses import replace
from datetime import date

import pytest

from b2b_soap.matching import MatchModel, MatchSettings, PopulationIndex, Record, match_records
from b2b_soap.matching.upn import make_upn
from b2b_soap.synth import generate_population

M_U = {
    "forename": ([1, 0.88, 0.05, 0.01, 0.005, 0.06, 0.002, 0.003],
                 [1, 0.0037, 0.0015, 0.0005, 3e-06, 0.0012, 0.0048, 0.989]),
    "surname": ([1, 0.88, 0.005, 0.08, 0.01, 0.02], [1, 0.0048, 3e-06, 0.0015, 0.0035, 0.99]),
    "dob": ([1, 0.919, 0.025, 0.035, 0.008, 0.013], [1, 5.3e-05, 2.7e-05, 0.002, 0.0027, 0.9953]),
    "gender": ([1, 0.998, 0.002], [1, 0.499, 0.501]),
    "address": ([1, 0.84, 0.057, 0.01, 0.005, 0.002, 0.008, 0.093],
                [1, 1.7e-05, 3.7e-05, 5e-05, 0.00053, 0.0245, 0.0697, 0.905]),
    "upn": ([1, 0.95, 0.03, 0.002, 0.018], [1, 3e-06, 1e-05, 0.98, 0.02]),
}


def reference_model(**settings) -> MatchModel:
    s = MatchSettings(**settings)
    return MatchModel(s, tuple(tuple(M_U[c.name][0]) for c in s.comparisons),
                      tuple(tuple(M_U[c.name][1]) for c in s.comparisons), 0.9)


# establishment 5555 is never used by the synthetic background population
UPN_AVA = make_upn("999", "5555", 2019, 1)
UPN_AMY = make_upn("999", "5555", 2019, 2)
UPN_ALEX = make_upn("999", "5555", 2017, 3)

LA = [
    Record("L1", UPN_ALEX, "William", "James", "Smith-Jones", date(2012, 3, 4), "M",
           "12 Station Road", "Leeds", "LS6 1AB"),
    Record("L2", "", "Katherine", "", "O'Brien", date(2014, 11, 23), "F", "3 Oak Lane", "Leeds", "LS7 2QX"),
    # twins: same DOB, surname, address
    Record("L3", UPN_AVA, "Ava", "", "Thornbury", date(2015, 6, 9), "F", "7 Mill Close", "Otley", "LS21 3BD"),
    Record("L4", UPN_AMY, "Amy", "", "Thornbury", date(2015, 6, 9), "F", "7 Mill Close", "Otley", "LS21 3BD"),
    # sibling of the twins
    Record("L5", "", "Noah", "", "Thornbury", date(2017, 1, 20), "M", "7 Mill Close", "Otley", "LS21 3BD"),
    Record("L6", "", "Zoë", "", "Ó Súilleabháin", date(2013, 8, 15), "F", "22 Beech Grove", "Leeds", "LS8 5NP"),
    Record("L7", "", "Alfred", "", "Pemberton", date(2011, 2, 27), "M", "5 Moor View", "Morley", "LS27 0HJ"),
]


@pytest.fixture(scope="module")
def index() -> PopulationIndex:
    background, _ = generate_population(3000, seed=11)
    people = [Record(p.id, p.upn, p.forename, p.middle_names, p.surname, p.dob, p.gender,
                     p.address, p.town, p.postcode) for p in background]
    return PopulationIndex(people + LA)


@pytest.fixture(scope="module")
def model() -> MatchModel:
    return reference_model()


def decide(index, model, record):
    return match_records(index, [record], model)[0]


def incoming(base_id: str, **changes) -> Record:
    base = next(r for r in LA if r.id == base_id)
    return replace(base, id="IN-" + base_id, upn=changes.pop("upn", ""), **changes)


@pytest.mark.parametrize("label, record", [
    ("exact", incoming("L2")),
    ("forename typo", incoming("L2", forename="Katherjne")),
    ("surname typo", incoming("L2", surname="O'Brein")),
    ("nickname", incoming("L1", forename="Bill")),
    ("nickname Kate", incoming("L2", forename="Kate")),
    ("nickname Alfie", incoming("L7", forename="Alfie")),
    ("changed surname", incoming("L2", surname="Whitfield")),
    ("moved house", incoming("L1", address="40 Canal Street", town="Pudsey", postcode="LS28 7RT")),
    ("accents and case", incoming("L6", forename="ZOE", surname="O Suilleabhain")),
    ("hyphen as space", incoming("L1", surname="Smith Jones")),
    ("postcode format", incoming("L2", postcode="ls72qx")),
])
def test_auto_matches_the_right_person(index, model, label, record):
    result = decide(index, model, record)
    assert result.decision == "auto", (label, result.reason, result.candidates[:2])
    assert result.match.la_id == record.id[3:]


@pytest.mark.parametrize("base, dob, level", [
    ("L1", date(2012, 4, 3), "day/month swapped"),
    ("L2", date(2014, 11, 28), "one digit differs"),
    ("L7", date(2011, 2, 17), "one digit differs"),
    ("L7", date(2001, 2, 27), "one digit differs"),
    ("L1", date(2021, 3, 4), "year differs"),
])
def test_dob_typo_levels(index, model, base, dob, level):
    result = decide(index, model, incoming(base, dob=dob))
    assert result.decision == "auto" and result.match.la_id == base
    assert {s.name: s.level for s in result.match.comparisons}["dob"] == level


def test_twin_is_not_matched_to_the_other_twin(index, model):
    result = decide(index, model, incoming("L3"))
    assert result.decision == "auto" and result.match.la_id == "L3"
    # a twin with an unknown forename must not auto-match either twin
    unknown = decide(index, model, incoming("L3", forename=""))
    assert unknown.decision == "possible"
    assert {c.la_id for c in unknown.candidates} >= {"L3", "L4"}


def test_twin_with_typo_still_prefers_own_record(index, model):
    result = decide(index, model, incoming("L4", forename="Amu"))
    assert result.decision != "auto" or result.match.la_id == "L4"
    assert result.candidates[0].la_id == "L4"


def test_sibling_is_not_matched(index, model):
    # a new sibling (not in the population) shares surname and address only
    newborn = Record("IN-new", "", "Oscar", "", "Thornbury", date(2023, 3, 3), "M", "7 Mill Close",
                     "Otley", "LS21 3BD")
    result = decide(index, model, newborn)
    assert result.decision != "auto"


@pytest.mark.parametrize("dob, level", [(date(2024, 9, 1), "else"), (date(1985, 2, 27), "year differs")])
def test_child_named_after_a_parent_is_not_matched_to_the_parent(index, model, dob, level):
    # the parent (or child) not in the population shares names and home with L7, born a generation apart
    result = decide(index, model, incoming("L7", dob=dob))
    assert result.decision == "possible" and result.reason == "dates of birth a generation apart"
    assert {s.name: s.level for s in result.candidates[0].comparisons}["dob"] == level


def test_names_alone_go_to_review(index, model):
    # no date of birth and another home: a namesake not in the population would look the same
    moved = dict(address="40 Canal Street", town="Pudsey", postcode="LS28 7RT")
    result = decide(index, model, incoming("L2", dob=None, **moved))
    assert result.decision == "possible" and result.reason == "names alone: no date of birth, home or UPN agrees"
    assert result.candidates[0].la_id == "L2"
    at_home = decide(index, model, incoming("L2", dob=None))
    assert at_home.decision == "auto" and at_home.match.la_id == "L2"


def test_unknown_person_gets_none(index, model):
    stranger = Record("IN-x", "", "Quentin", "", "Vandersloot", date(2010, 10, 10), "M",
                      "1 Nowhere Street", "Leeds", "LS6 9ZZ")
    result = decide(index, model, stranger)
    assert result.decision == "none" and result.candidates == ()


def test_valid_upn_matches_even_when_moved_and_renamed(index, model):
    result = decide(index, model, incoming("L3", upn=UPN_AVA, surname="Baxter", address="9 Elm Road",
                                           postcode="LS12 4AA", town="Leeds"))
    assert result.decision == "auto" and result.match.la_id == "L3" and result.match.upn_match
    assert result.reason == "UPN matches"


def test_upn_contradicted_by_demographics_is_possible_with_reason(index, model):
    # the UPN of Ava, but the record is plainly someone else
    result = decide(index, model, Record("IN-c", UPN_AVA, "Harry", "", "Kowalski", date(2009, 1, 1), "M",
                                         "1 Other Road", "Leeds", "LS6 2AA"))
    assert result.decision == "possible"
    assert result.reason.startswith("UPN matches but demographics contradict:")
    assert "dob" in result.reason and "forename" in result.reason
    assert result.candidates[0].la_id == "L3"


def test_twin_upn_wins_over_demographics(index, model):
    result = decide(index, model, incoming("L4", upn=UPN_AMY))
    assert result.decision == "auto" and result.match.la_id == "L4"


def test_invalid_upn_is_ignored_not_an_error(index, model):
    bad = "B" + UPN_ALEX[1:] if UPN_ALEX[0] != "B" else "C" + UPN_ALEX[1:]
    result = decide(index, model, incoming("L1", upn=bad))
    assert result.decision == "auto" and not result.match.upn_match
    assert result.reason != "UPN matches"


def test_explanation_adds_up(index, model):
    result = decide(index, model, incoming("L2", forename="Kate"))
    best = result.candidates[0]
    levels = {s.name: s.level for s in best.comparisons}
    assert levels["forename"] == "nickname" and levels["surname"] == "exact"
    total = best.prior_bits + sum(s.bits for s in best.comparisons)
    assert total == pytest.approx(best.match_weight, abs=0.01)
    assert 0.95 <= best.probability <= 1


@pytest.mark.parametrize("postcode, address, level", [
    ("LS7 2QX", "3 Oak Lane", "same address and postcode"),
    ("LS7 2QX", "", "same postcode"),
    ("LS7 2ZZ", "", "same sector"),
    ("LS7 9ZZ", "", "same district"),
    ("LS12 9ZZ", "", "else"),
    ("", "3 Oak Ln", "same address"),
])
def test_postcode_and_address_levels(index, model, postcode, address, level):
    result = decide(index, model, incoming("L2", postcode=postcode, address=address))
    found = {c.la_id: {s.name: s.level for s in c.comparisons} for c in result.candidates}
    assert found["L2"]["address"] == level


def test_possible_is_capped_and_ranked(index):
    model = reference_model(max_possible=2, possible_threshold=1e-9, auto_threshold=0.999999)
    result = decide(index, model, incoming("L3", forename=""))
    assert result.decision == "possible" and len(result.candidates) == 2
    probabilities = [c.probability for c in result.candidates]
    assert probabilities == sorted(probabilities, reverse=True)
