"""Decide every incoming record of a file: GUID link first, then the matching core.

Pupils are matched against the whole population, contacts against the persons old
enough to be carers. The outcome per record is what the database will hold: status,
decision, the person when matched, and up to ``max_possible`` ranked candidates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import PersonIdentifier, one_of
from ..matching import Candidate, Decision, match_records
from .incoming import Parsed
from .population import Population

__all__ = ["Outcome", "link_batch", "candidate_explanation", "MATCHED_DECISIONS"]

MATCHED_DECISIONS = ("guid", "upn", "auto", "manual", "new")


@dataclass
class Outcome:
    status: str                 # matched | unmatched
    decision: str               # guid | upn | auto | possible | none
    reason: str
    person_id: int | None = None
    score: float | None = None
    explanation: dict | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)


def candidate_explanation(candidate: Candidate) -> dict[str, Any]:
    """Each comparison's contribution, for the reviewer and the audit trail."""
    return {"probability": candidate.probability, "match_weight": candidate.match_weight,
            "prior_bits": candidate.prior_bits, "upn_match": candidate.upn_match,
            "comparisons": [{"name": c.name, "level": c.level, "bits": c.bits} for c in candidate.comparisons]}


def known_guids(session: Session, base_id: int, guids: Sequence[str]) -> dict[str, int]:
    """SIMS GUID -> person for the GUIDs this base has sent before."""
    found: dict[str, int] = {}
    wanted = sorted({g for g in guids if g})
    for among in one_of(session, PersonIdentifier.sims_guid, wanted):
        found.update(session.execute(
            select(PersonIdentifier.sims_guid, PersonIdentifier.person_id)
            .where(PersonIdentifier.base_id == base_id, among)).all())
    return found


def _from_decision(decision: Decision) -> Outcome:
    candidates = [{"rank": rank, "person_id": int(c.la_id), "score": c.probability, "weight": c.match_weight,
                   "explanation": candidate_explanation(c)} for rank, c in enumerate(decision.candidates, 1)]
    match = decision.match
    if match is None:
        return Outcome("unmatched", decision.decision, decision.reason, candidates=candidates)
    return Outcome("matched", "upn" if match.upn_match else "auto", decision.reason, int(match.la_id),
                   match.probability, candidate_explanation(match), candidates=candidates[:1])


def _match(population: Population, records: list[Parsed], carers: bool) -> dict[int, Outcome]:
    if not records:
        return {}
    index = population.carers if carers else population.everyone
    if len(index) == 0:
        return {p.seq: Outcome("unmatched", "none", "the LA population is empty") for p in records}
    decisions = match_records(index, [p.record for p in records], population.model)
    return {p.seq: _from_decision(d) for p, d in zip(records, decisions)}


def _one_pupil_per_person(parsed: Sequence[Parsed], outcomes: dict[int, Outcome]) -> None:
    """Two pupils of one file are never the same person: later ones go to review."""
    taken: dict[int, int] = {}
    for p in parsed:
        outcome = outcomes[p.seq]
        if p.kind != "pupil" or outcome.status != "matched":
            continue
        if outcome.person_id in taken:
            outcome.status, outcome.decision = "unmatched", "possible"
            outcome.reason = (f"pupil {taken[outcome.person_id]} of this file already matched "
                              f"person {outcome.person_id}")
            outcome.candidates = [{"rank": 1, "person_id": outcome.person_id, "score": outcome.score or 0.0,
                                   "weight": (outcome.explanation or {}).get("match_weight", 0.0),
                                   "explanation": outcome.explanation}]
            outcome.person_id = None
        else:
            taken[outcome.person_id] = p.seq


def _linked(person_id: int) -> Outcome:
    return Outcome("matched", "guid", "SIMS GUID already linked at this base", person_id, 1.0)


def link_batch(session: Session, parsed: Sequence[Parsed], base_id: int, population: Population,
               guidmatch: bool) -> dict[int, Outcome]:
    """The outcome of every record of a file, by seq.

    With ``GUIDMATCH`` on the GUID link comes first; with it off the link still keeps a pupil
    the LA has decided (or the matching matched before) out of the Unmatched list.
    """
    guids = known_guids(session, base_id, [p.row["sims_guid"] for p in parsed])
    outcomes: dict[int, Outcome] = {}
    rest: dict[str, list[Parsed]] = {"pupil": [], "contact": []}
    for p in parsed:
        person = guids.get(p.row["sims_guid"]) if guidmatch else None
        if person is not None:
            outcomes[p.seq] = _linked(person)
        else:
            rest[p.kind].append(p)
    outcomes.update(_match(population, rest["pupil"], carers=False))
    outcomes.update(_match(population, rest["contact"], carers=True))
    for p in parsed:
        if outcomes[p.seq].status == "unmatched" and p.row["sims_guid"] in guids:
            outcomes[p.seq] = _linked(guids[p.row["sims_guid"]])
    _one_pupil_per_person(parsed, outcomes)
    return outcomes
