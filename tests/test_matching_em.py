"""EM recovers known m/u values (like splink's test_correctness_of_convergence)."""

import numpy as np
import pytest

from b2b_soap.matching.em import distinct_patterns, expectation_maximisation

# Per comparison: probabilities of levels 1.. (level 0 = null) for matches / non-matches.
TRUE_M = [[0.85, 0.10, 0.05], [0.90, 0.06, 0.04], [0.70, 0.20, 0.10], [0.95, 0.05]]
TRUE_U = [[0.05, 0.15, 0.80], [0.02, 0.10, 0.88], [0.10, 0.30, 0.60], [0.50, 0.50]]
RATE = 0.3


def _pairs(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    is_match = rng.random(n) < RATE
    columns = []
    for m, u in zip(TRUE_M, TRUE_U):
        levels_m = rng.choice(len(m), n, p=m) + 1
        levels_u = rng.choice(len(u), n, p=u) + 1
        column = np.where(is_match, levels_m, levels_u)
        column[rng.random(n) < 0.05] = 0  # some nulls, which EM must ignore
        columns.append(column)
    return np.stack(columns, axis=1)


def _start(true, shift):
    return [[1.0] + list(np.roll(row, shift)) for row in true]


def test_full_em_recovers_m_u_and_rate():
    patterns, counts = distinct_patterns(_pairs(60_000))
    n_levels = [len(m) + 1 for m in TRUE_M]
    # deliberately poor, but correctly ordered, starting values
    m_start = [[1.0, 0.6] + [0.4 / (len(m) - 1)] * (len(m) - 1) for m in TRUE_M]
    u_start = [[1.0] + [1.0 / len(u)] * len(u) for u in TRUE_U]
    result = expectation_maximisation(patterns, counts, n_levels, m_start, u_start, rate_start=0.5,
                                      max_iterations=500, tolerance=1e-8)
    assert result.converged
    assert result.match_rate == pytest.approx(RATE, abs=0.01)
    for c in range(len(TRUE_M)):
        assert result.m[c][0] == 1.0 and result.u[c][0] == 1.0
        assert result.m[c][1:] == pytest.approx(TRUE_M[c], abs=0.02)
        assert result.u[c][1:] == pytest.approx(TRUE_U[c], abs=0.02)


def test_em_with_u_fixed_recovers_m():
    patterns, counts = distinct_patterns(_pairs(60_000, seed=2))
    n_levels = [len(m) + 1 for m in TRUE_M]
    m_start = [[1.0, 0.5] + [0.5 / (len(m) - 1)] * (len(m) - 1) for m in TRUE_M]
    u_true = [[1.0] + u for u in TRUE_U]
    result = expectation_maximisation(patterns, counts, n_levels, m_start, u_true, rate_start=0.1,
                                      fix_u=True, max_iterations=500, tolerance=1e-8)
    for c in range(len(TRUE_U)):
        assert result.u[c] == pytest.approx(u_true[c], abs=1e-6)
    assert result.match_rate == pytest.approx(RATE, abs=0.01)
    for c in range(len(TRUE_M)):
        assert result.m[c][1:] == pytest.approx(TRUE_M[c], abs=0.02)


def test_distinct_patterns_counts_rows():
    levels = np.array([[1, 2], [1, 2], [0, 1]], dtype=np.int8)
    patterns, counts = distinct_patterns(levels)
    assert patterns.tolist() == [[0, 1], [1, 2]] and counts.tolist() == [1.0, 2.0]


def test_training_learns_the_upn_as_evidence_both_ways():
    from dataclasses import replace

    from b2b_soap.matching import PopulationIndex, Record, train_model, upn_check_letter
    from b2b_soap.synth import generate_population
    persons, _ = generate_population(3000, seed=3)
    population = [Record(p.id, p.upn, p.forename, p.middle_names, p.surname, p.dob, p.gender, p.address,
                         p.town, p.postcode) for p in persons]
    children = [r for r in population if r.upn]
    # known pupils with their UPN, and look-alikes of others (a twin: new forename, a UPN of their own)
    incoming = [replace(r, id="IN" + r.id) for r in children[:600]]
    twin_upns = [upn_check_letter(r.upn[1:4] + "8" + r.upn[5:]) + r.upn[1:4] + "8" + r.upn[5:]
                 for r in children[600:700]]
    incoming += [replace(r, id="TW" + r.id, forename="Peregrine", upn=upn)
                 for r, upn in zip(children[600:700], twin_upns)]
    model = train_model(PopulationIndex(population), incoming)
    column = [c.kind for c in model.settings.comparisons].index("upn")
    bits = dict(zip(model.settings.comparisons[column].levels, model.level_bits(column)))
    assert bits["exact"] > 5 and bits["different permanent"] < -1


def test_training_on_records_without_dob_takes_the_match_rate_from_the_names():
    from dataclasses import replace

    from b2b_soap.matching import PopulationIndex, Record, train_model
    from b2b_soap.synth import generate_population
    persons, _ = generate_population(2000, seed=4)
    adults = [Record(p.id, "", p.forename, "", p.surname, p.dob, p.gender, p.address, p.town, p.postcode)
              for p in persons if not p.is_child]
    contacts = [replace(r, id="C" + r.id, dob=None) for r in adults[:400]]  # carers come without a DOB
    model = train_model(PopulationIndex(adults), contacts)
    assert model.match_rate > 0.5


def test_parents_sharing_a_childs_names_and_home_do_not_teach_that_dates_of_birth_may_differ():
    from dataclasses import replace
    from datetime import date

    from b2b_soap.matching import PopulationIndex, Record, train_model
    from b2b_soap.synth import generate_population
    persons, _ = generate_population(3000, seed=5)
    population = [Record(p.id, p.upn, p.forename, p.middle_names, p.surname, p.dob, p.gender, p.address,
                         p.town, p.postcode) for p in persons]
    children = [r for r in population if r.upn]
    adults = [r for r in population if not r.upn]
    # known pupils, and children not in the population named after a parent, living with them
    incoming = [replace(r, id="IN" + r.id) for r in children[:500]]
    incoming += [replace(r, id="JR" + r.id, dob=date(2016, 1 + i % 12, 1 + i % 28))
                 for i, r in enumerate(adults[:200])]
    model = train_model(PopulationIndex(population), incoming)
    column = [c.kind for c in model.settings.comparisons].index("dob")
    bits = dict(zip(model.settings.comparisons[column].levels, model.level_bits(column)))
    assert bits["else"] < -4
