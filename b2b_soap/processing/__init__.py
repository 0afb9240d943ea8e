"""Processing of received files: the worker, matching against the
population held in the database, and what follows a match (conflicts, cache, links)."""
from .after_match import AfterMatch, MatchedRecord
from .model import default_model, load_model
from .population import LivePopulation, age_on, live_population
from .run import FileResult, process_next, run_pending
from .worker import Worker, start_worker

__all__ = ["AfterMatch", "MatchedRecord", "default_model", "load_model", "LivePopulation", "age_on",
           "live_population", "FileResult", "process_next", "run_pending", "Worker",
           "start_worker"]
