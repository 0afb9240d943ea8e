"""The processing worker inside ``serve``: a thread that claims and processes files.

Every server process runs one; the queue's claims keep them from taking the same file.
``serve --workers N`` builds the population index once in the parent before forking
(:func:`build_before_fork`): the workers start from it, share its pages, and only refresh it.
The parent also makes the processing slots, so that no more files are processed at once on the
host than ``[processing] concurrent_files`` (its cores by default), however many workers it runs.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import date
from typing import Callable

from ..context import AppContext
from ..db import session_scope
from ..defaults import load_defaults
from .population import LivePopulation
from .run import process_next, worker_name
from .slots import Slots, cores

__all__ = ["Worker", "start_worker", "start_processing", "build_before_fork"]

log = logging.getLogger("b2b_soap.processing")

# The index built by the ``--workers`` parent, which every forked worker starts from.
_BUILT_BEFORE_FORK: LivePopulation | None = None
# The slots the ``--workers`` parent made, which every forked worker holds one of while processing.
_SLOTS: Slots | None = None


def build_population(ctx: AppContext, live: LivePopulation) -> None:
    """Build (or refresh) ``live`` and log how long it took; a database that is away is only logged."""
    started = time.perf_counter()
    try:
        with session_scope(ctx.sessions) as session:
            defaults = load_defaults(session, ctx.settings)
            population = live.get(session, defaults.carer_min, date.today())
        log.info("population index ready: %d persons in %.1f s", len(population.everyone),
                 time.perf_counter() - started)
    except Exception:  # the database is away: the first file builds it instead
        log.exception("population index not built at start")


def build_before_fork(ctx: AppContext) -> Callable[[], None] | None:
    """``serve --workers``: build the population index once, frozen out of the collector's reach,
    so the workers forked next share its pages read-only instead of building one each; make their
    processing slots. Returns what removes the slots once the workers have stopped."""
    global _BUILT_BEFORE_FORK, _SLOTS
    if not ctx.settings.processing.enabled:
        return None
    live = LivePopulation()
    build_population(ctx, live)
    _BUILT_BEFORE_FORK = live
    _SLOTS = Slots(ctx.settings.processing.concurrent_files or cores())
    return _SLOTS.remove


class Worker:
    """Processes files until stopped; idle, it looks again every ``poll_seconds``."""

    def __init__(self, ctx: AppContext, poll_seconds: float | None = None) -> None:
        self.ctx = ctx
        self.poll_seconds = poll_seconds if poll_seconds is not None else ctx.settings.processing.poll_seconds
        self.live = _BUILT_BEFORE_FORK or LivePopulation()
        self.slots = _SLOTS
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="b2b-processing", daemon=True)
        self.name = ""
        self.ready = threading.Event()  # set once the population index is built (or could not be)

    def start(self) -> Worker:
        self._thread.start()
        return self

    def wake(self) -> None:
        """Look at the queue now (e.g. right after an upload)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _build_population(self) -> None:
        """Build the population index at start, so the first file after a restart does not wait for it."""
        try:
            build_population(self.ctx, self.live)
        finally:
            self.ready.set()

    def _process_next(self) -> bool:
        """Process one waiting file; False when there was none (or the database is away)."""
        try:
            return process_next(self.ctx, self.name, self.live) is not None
        except Exception:  # the database is away: keep the worker alive and try again
            log.exception("processing worker error")
            return False

    def _run(self) -> None:
        self.name = worker_name()
        self._build_population()
        while not self._stop.is_set():
            if self.slots is None:
                busy = self._process_next()
            else:
                with self.slots.held(self._stop) as held:
                    busy = held and self._process_next()
            if not busy:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()


def start_worker(ctx: AppContext) -> Worker | None:
    """Start the worker when ``[processing] enabled``; the caller stops it on shutdown."""
    if not ctx.settings.processing.enabled:
        return None
    return Worker(ctx).start()


def start_processing(ctx: AppContext):
    """``BACKGROUND_STARTERS`` entry: start the worker, return its stopper (None when disabled)."""
    worker = start_worker(ctx)
    return worker.stop if worker is not None else None
