"""PopulationIndex: add, update and remove persons between batches."""

import os
import pickle
from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from b2b_soap.matching import RECORD_FIELDS, MatchModel, PopulationIndex, Record, match_records
from b2b_soap.matching.blocking import SortedBlocks
from b2b_soap.processing.population import carer_settings
from b2b_soap.synth import generate_population
from tests.test_matching_rules import reference_model


def _population(n: int) -> list[Record]:
    persons, _ = generate_population(n, seed=5)
    return [Record(p.id, p.upn, p.forename, p.middle_names, p.surname, p.dob, p.gender,
                   p.address, p.town, p.postcode) for p in persons]


@pytest.fixture()
def model() -> MatchModel:
    return reference_model()


NEWBIE = Record("NEW1", "", "Peregrine", "", "Fothergill", date(2016, 4, 1), "M", "4 Quay Street",
                "Leeds", "LS6 3ZZ")


def test_added_person_is_found(model):
    index = PopulationIndex(_population(2000))
    probe = replace(NEWBIE, id="IN1")
    assert match_records(index, [probe], model)[0].decision == "none"
    index.add([NEWBIE])
    result = match_records(index, [probe], model)[0]
    assert result.decision == "auto" and result.match.la_id == "NEW1"
    assert len(index) == 2001


def test_updated_person_matches_on_new_details_only(model):
    people = _population(2000)
    index = PopulationIndex(people + [NEWBIE])
    moved = replace(NEWBIE, surname="Ravenscroft", dob=date(2016, 4, 2), address="9 Hill Rise",
                    postcode="LS28 5AA")
    index.add([moved])
    assert len(index) == 2001
    new_probe = replace(moved, id="IN1")
    result = match_records(index, [new_probe], model)[0]
    assert result.decision == "auto" and result.match.la_id == "NEW1"
    levels = {s.name: s.level for s in result.match.comparisons}
    assert levels["surname"] == "exact" and levels["dob"] == "exact"


def test_removed_person_is_not_found(model):
    index = PopulationIndex(_population(1000) + [NEWBIE])
    index.remove(["NEW1", "not-there"])
    assert len(index) == 1000
    assert match_records(index, [replace(NEWBIE, id="IN1")], model)[0].decision == "none"


def test_many_updates_trigger_rebuild_and_stay_correct(model):
    people = _population(300)
    index = PopulationIndex(people)
    changed = [replace(p, address="1 New Street", postcode="LS12 1AA") for p in people[:100]]
    index.add(changed)
    probe = replace(changed[50], id="IN1")
    result = match_records(index, [probe], model)[0]
    assert result.decision in ("auto", "possible")
    assert result.candidates[0].la_id == changed[50].id


def test_batches_reuse_the_index(model):
    people = _population(3000)
    index = PopulationIndex(people)
    children = [replace(p, id="IN" + p.id, upn="") for p in people if p.upn][:200]
    first = match_records(index, children, model)
    second = match_records(index, children, model)
    assert [d.decision for d in first] == [d.decision for d in second]
    auto = [d for d in first if d.decision == "auto"]
    assert len(auto) > 180 and all(d.match.la_id == d.record_id[2:] for d in auto)


def test_repeated_id_in_one_add_keeps_the_last(model):
    index = PopulationIndex(_population(500))
    index.add([NEWBIE, replace(NEWBIE, forename="Percival")])
    assert len(index) == 501
    result = match_records(index, [replace(NEWBIE, id="IN1", forename="Percival")], model)[0]
    assert result.decision == "auto" and result.match.la_id == "NEW1"
    assert {s.name: s.level for s in result.match.comparisons}["forename"] == "exact"


def test_population_without_any_upn_still_matches(model):
    """A rule with no population keys (nobody holds a UPN yet) must not break blocking."""
    people = [replace(r, upn="") for r in _population(200)]
    index = PopulationIndex(people)
    target = people[7]
    incoming = replace(target, id="in-1", upn="A999400125001")
    [decision] = match_records(index, [incoming], model)
    assert decision.decision == "auto"
    assert decision.candidates[0].la_id == target.id


def test_gendered_rules_still_propose_persons_with_a_missing_gender():
    renamed = Record("P1", "", "Margaret", "", "Oyelaran", date(2014, 2, 9), "F", "1 Ash Row", "Leeds", "LS1 1AA")
    unknown = Record("P2", "", "Tobias", "", "Quarrie", date(2013, 6, 30), None, "2 Elm Row", "Leeds", "LS2 2BB")
    index = PopulationIndex(_population(300) + [renamed, unknown])
    probes = [Record("IN1", "", "Peggy", "", "Hartley", date(2014, 2, 9), None, "", "", ""),
              Record("IN2", "", "Toby", "", "Barraclough", date(2013, 6, 30), "M", "", "", ""),
              Record("IN3", "", "Peggy", "", "Hartley", date(2014, 2, 9), "M", "", "", "")]
    batch = index.encode(probes)
    left, right = index.rule_pairs("dob+gender", batch)
    proposed = {(probes[i].id, index.ids[r]) for i, r in zip(left.tolist(), right.tolist())}
    assert ("IN1", "P1") in proposed  # gender missing on the incoming side
    assert ("IN2", "P2") in proposed  # gender missing on the LA's side
    assert ("IN3", "P1") not in proposed  # genders differ: left to the other rules
    wide_left, _ = index.rule_pairs("dob", batch)
    assert len(left) < len(wide_left)


def test_removing_nobody_keeps_the_term_frequencies():
    index = PopulationIndex(_population(300) + [NEWBIE])
    frequencies = index.term_frequency("fn")
    index.remove(["not-there"])
    assert index.term_frequency("fn") is frequencies
    index.remove(["NEW1"])
    assert index.term_frequency("fn") is not frequencies


def _candidates(index: PopulationIndex, probes: list[Record]) -> set[tuple[str, str]]:
    left, right = index.candidate_pairs(index.encode(probes))
    return {(probes[i].id, index.ids[j]) for i, j in zip(left.tolist(), right.tolist())}


def _probes(people: list[Record]) -> list[Record]:
    return [replace(p, id=f"IN{i}", forename=p.forename[:-1] + "x", upn="") for i, p in enumerate(people[::97])]


def test_an_index_built_from_columns_proposes_what_one_built_from_records_does():
    people = _population(3000)
    columns = {name: [getattr(p, name) for p in people] for name in RECORD_FIELDS}
    built = PopulationIndex.from_columns([p.id for p in people], columns)
    assert _candidates(built, _probes(people)) == _candidates(PopulationIndex(people), _probes(people))


def test_a_subset_proposes_what_an_index_of_those_persons_alone_does():
    people = _population(3000)
    index = PopulationIndex(people)
    adults = np.array([p.dob is not None and p.dob.year < 2000 for p in people])
    part = index.subset(adults, index.settings)
    alone = PopulationIndex([p for p, keep in zip(people, adults) if keep])
    assert len(part) == int(adults.sum())
    assert _candidates(part, _probes(people)) == _candidates(alone, _probes(people))


def _rule_pairs(index: PopulationIndex, probes: list[Record]) -> dict[str, list[tuple[str, str]]]:
    """Each rule's (probe, person) pairs in the order the index proposes them."""
    batch = index.encode(probes)
    return {rule: [(probes[i].id, index.ids[j]) for i, j in zip(*(side.tolist() for side in index.rule_pairs(rule, batch)))]
            for rule in index.settings.blocking_rules}


@pytest.mark.parametrize("changed_first", [False, True])
def test_a_subset_with_rules_of_its_own_proposes_in_the_order_an_index_of_those_persons_does(changed_first):
    people = _population(3000)
    index = PopulationIndex(people)
    if changed_first:  # rows changed since the sort: the subset sorts its own blocks
        index.add([replace(people[5], surname="Quennell"), replace(people[8], postcode="ZZ9 9ZZ")])
        people[5], people[8] = replace(people[5], surname="Quennell"), replace(people[8], postcode="ZZ9 9ZZ")
    adults = np.array([p.dob is not None and p.dob.year < 2000 for p in people])
    carers = carer_settings(index.settings)
    settings = replace(carers, blocking_rules=(*carers.blocking_rules, "forename_phonetic+surname_phonetic"))
    part = index.subset(adults, settings)
    alone = PopulationIndex([p for p, keep in zip(people, adults) if keep], settings)
    assert _rule_pairs(part, _probes(people)) == _rule_pairs(alone, _probes(people))


@pytest.mark.parametrize("largest", [1 << 20, 1 << 62])
def test_sorted_blocks_hold_the_rows_of_each_key_in_row_order(largest):
    keys = np.random.default_rng(3).integers(0, 50, 10_000) * (largest // 50)
    blocks = SortedBlocks(keys)
    with_key = np.flatnonzero(keys)
    assert blocks.rows.tolist() == with_key[np.argsort(keys[with_key], kind="stable")].tolist()
    assert blocks.uniq.tolist() == sorted(set(keys.tolist()) - {0})
    assert blocks.count.tolist() == [int((keys == key).sum()) for key in blocks.uniq.tolist()]


def test_changed_lists_only_new_persons_and_persons_with_other_values():
    people = _population(500)
    index = PopulationIndex(people)
    moved = replace(people[3], address="99 Elsewhere Road", postcode="ZZ9 9ZZ")
    assert index.changed([people[1], moved, NEWBIE, people[2]]) == [moved, NEWBIE]


def _in_child(work) -> object:
    """Run ``work`` in a forked child and return what it returned (pickled through a pipe)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            with os.fdopen(write, "wb") as out:
                pickle.dump(work(), out)
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        found = pickle.load(answer)
    os.waitpid(pid, 0)
    return found


def test_an_index_built_before_a_fork_serves_the_child_and_takes_its_changes_there():
    people = _population(3000)
    index = PopulationIndex(people)
    probes = _probes(people) + [replace(NEWBIE, id="IN-NEW")]

    def in_child():
        before = _candidates(index, probes)
        index.add([NEWBIE])
        index.remove([people[0].id])
        return before, _candidates(index, probes)

    before, after = _in_child(in_child)
    assert before == _candidates(PopulationIndex(people), probes)
    assert after == _candidates(PopulationIndex([NEWBIE, *people[1:]]), probes)
    assert ("IN-NEW", "NEW1") in after and len(index) == 3000  # the parent's index is untouched
