"""One-call linking: index a population, train (or reuse) a model, decide."""

from __future__ import annotations

from collections.abc import Sequence

from b2b_soap.matching.decide import Decision, match_records
from b2b_soap.matching.index import PopulationIndex
from b2b_soap.matching.model import MatchModel
from b2b_soap.matching.records import Record
from b2b_soap.matching.settings import MatchSettings
from b2b_soap.matching.training import train_model

__all__ = ["link_records"]


def link_records(population: Sequence[Record], incoming: Sequence[Record],
                 settings: MatchSettings | None = None, model: MatchModel | None = None,
                 seed: int = 0) -> tuple[list[Decision], MatchModel]:
    """Match ``incoming`` against ``population`` in memory.

    Args:
        population: the LA's persons.
        incoming: records to match.
        settings: used when training; ignored when ``model`` is given (the
            model carries its settings).
        model: a trained model; trained by EM on these inputs when omitted.
        seed: random seed of the u sample.

    Returns:
        One decision per incoming record, in input order, and the model used.
    """
    settings = model.settings if model else (settings or MatchSettings())
    index = PopulationIndex(population, settings)
    if model is None:
        model = train_model(index, incoming, settings, seed)
    return match_records(index, incoming, model), model
