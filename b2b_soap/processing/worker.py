"""The processing worker inside ``serve``: a thread that claims and processes files.

Every server process runs one; the queue's claims keep them from taking the same file.
"""
from __future__ import annotations

import logging
import threading

from ..context import AppContext
from .population import PopulationCache
from .run import process_next, worker_name

__all__ = ["Worker", "start_worker", "start_processing"]

log = logging.getLogger("b2b_soap.processing")


class Worker:
    """Processes files until stopped; idle, it looks again every ``poll_seconds``."""

    def __init__(self, ctx: AppContext, poll_seconds: float | None = None) -> None:
        self.ctx = ctx
        self.poll_seconds = poll_seconds if poll_seconds is not None else ctx.settings.processing.poll_seconds
        self.cache = PopulationCache()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="b2b-processing", daemon=True)
        self.name = ""

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

    def _run(self) -> None:
        self.name = worker_name()
        while not self._stop.is_set():
            try:
                busy = process_next(self.ctx, self.name, self.cache) is not None
            except Exception:  # the database is away: keep the worker alive and try again
                log.exception("processing worker error")
                busy = False
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
