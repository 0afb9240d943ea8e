"""One-call linking: index a population, train (or reuse) a model, decide."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from b2b_soap.matching.decide import Decision, match_records
from b2b_soap.matching.index import PopulationIndex
from b2b_soap.matching.model import MatchModel
from b2b_soap.matching.records import Record
from b2b_soap.matching.settings import MatchSettings
from b2b_soap.matching.training import train_model

__all__ = ["link_records", "Progress"]

Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``: ``(stage, 0, 0)`` as a stage starts, ``(stage, n, n)`` when done."""


def _silent(stage: str, done: int, total: int) -> None:
    pass


@contextmanager
def _stage(progress: Progress, name: str, size: int) -> Iterator[None]:
    progress(name, 0, 0)
    yield
    progress(name, size, size)


def link_records(population: Sequence[Record], incoming: Sequence[Record],
                 settings: MatchSettings | None = None, model: MatchModel | None = None,
                 seed: int = 0, progress: Progress | None = None) -> tuple[list[Decision], MatchModel]:
    """Match ``incoming`` against ``population`` in memory.

    Args:
        population: the LA's persons.
        incoming: records to match.
        settings: used when training; ignored when ``model`` is given (the
            model carries its settings).
        model: a trained model; trained by EM on these inputs when omitted.
        seed: random seed of the u sample.
        progress: told as each stage (indexing, training, matching) starts and ends.

    Returns:
        One decision per incoming record, in input order, and the model used.
    """
    settings = model.settings if model else (settings or MatchSettings())
    progress = progress or _silent
    with _stage(progress, "indexing the LA population", len(population)):
        index = PopulationIndex(population, settings)
    if model is None:
        with _stage(progress, "training the model", len(incoming)):
            model = train_model(index, incoming, settings, seed)
    with _stage(progress, "matching", len(incoming)):
        decisions = match_records(index, incoming, model)
    return decisions, model
