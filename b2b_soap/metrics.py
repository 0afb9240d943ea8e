"""Prometheus metrics on b2b-soap's own registry, and the ``/metrics`` WSGI app.

Other modules call the small functions below (``observe_request``, ``count_fault`` ...).
Every label value is checked against a closed set or a strict pattern, so a username,
pupil data or a file name can never become a label: anything unexpected is ``other``.

Several processes (``serve --workers N``): set ``PROMETHEUS_MULTIPROC_DIR`` to an empty
directory before the processes start; counters and histograms then live in files there
and ``/metrics`` of any process reports the sum. Queue gauges are read from the database
when scraped, so they are right whichever process answers.
"""
from __future__ import annotations

import os
import re
import threading
import time
from typing import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select

from .errors import FAULT_CODES

__all__ = ["REGISTRY", "observe_request", "count_fault", "count_upload", "observe_processing",
           "count_match_decision", "count_job_run", "count_login_failure", "count_lockout", "metrics_app",
           "QueueCollector", "MATCH_KINDS", "OPERATIONS", "register_operations", "is_operation_name",
           "file_processed", "OTHER", "multiprocess_dir", "mark_process_dead"]

REGISTRY = CollectorRegistry(auto_describe=True)

_OPERATION = re.compile(r"[A-Z][A-Za-z]{2,63}")
# The WSDL operations (school and admin services); others add theirs with register_operations.
OPERATIONS = {
    "GetServerInfo", "GetScheduledTasks", "SaveScheduledTask", "DeleteScheduledTask", "UploadFile",
    "GetFileStatus", "GetPendingDownloads", "DownloadFile", "AcknowledgeDownload",
    "ListUnmatched", "GetIncoming", "MatchIncoming", "CreatePersonFromIncoming", "RejectIncoming",
    "ListConflicts", "ResolveConflict", "ResolveConflicts", "UpdatePerson", "ListFiles", "RetryFile",
    "ImportFile", "QueueDownload", "ListTasks", "SaveTask", "DeleteTask", "RunJob", "ListJobRuns",
    "GetBaseReport", "ListSuspense", "ResolveSuspense", "ListAlerts",
}
_JOB = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
DATA_TYPES = ("Student", "Attainment")
MATCH_KINDS = ("guid", "upn", "auto", "possible", "none", "manual", "new", "rejected")
OUTCOMES = ("ok", "failed", "rejected", "skipped", "interrupted")
CHANNELS = ("soap", "basic", "web", "cli")
OTHER = "other"
_SIZES = (1e3, 1e4, 1e5, 5e5, 1e6, 2e6, 5e6, 1e7, 2e7, 5e7)
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

REQUESTS = Counter("b2b_soap_requests", "SOAP operations answered", ["operation"], registry=REGISTRY)
REQUEST_SECONDS = Histogram("b2b_soap_request_seconds", "SOAP operation duration", ["operation"],
                            buckets=_SECONDS, registry=REGISTRY)
FAULTS = Counter("b2b_soap_faults", "B2BFaults answered", ["operation", "code"], registry=REGISTRY)
UPLOAD_BYTES = Counter("b2b_soap_upload_bytes", "bytes received by UploadFile (as sent)", ["data_type"],
                       registry=REGISTRY)
UPLOAD_SIZES = Histogram("b2b_soap_upload_part_bytes", "size of one UploadFile part", ["data_type"],
                         buckets=_SIZES, registry=REGISTRY)
PROCESSING_SECONDS = Histogram("b2b_soap_file_processing_seconds", "time to process one virtual file",
                               ["data_type", "outcome"], buckets=_SECONDS, registry=REGISTRY)
MATCH_DECISIONS = Counter("b2b_soap_match_decisions", "matching decisions by kind", ["kind"], registry=REGISTRY)
JOB_RUNS = Counter("b2b_soap_job_runs", "maintenance job runs by job and outcome", ["job", "outcome"],
                   registry=REGISTRY)
LOGIN_FAILURES = Counter("b2b_soap_login_failures", "failed sign-ins", ["channel"], registry=REGISTRY)
LOCKOUTS = Counter("b2b_soap_lockouts", "accounts locked by repeated failures", ["channel"], registry=REGISTRY)


def _pick(value: str, allowed: Iterable[str]) -> str:
    return value if value in allowed else OTHER


def _match(value: str, pattern: re.Pattern[str]) -> str:
    return value if isinstance(value, str) and pattern.fullmatch(value) else OTHER


def is_operation_name(name: str) -> bool:
    return isinstance(name, str) and bool(_OPERATION.fullmatch(name))


def register_operations(names: Iterable[str]) -> None:
    """Allow more operation names as label values (CamelCase letters only: never data)."""
    for name in names:
        if not _OPERATION.fullmatch(name):
            raise ValueError(f"not an operation name: {name!r}")
        OPERATIONS.add(name)


def observe_request(operation: str, seconds: float) -> None:
    """One SOAP operation answered (fault or not) in ``seconds``; ``operation`` is its WSDL name."""
    operation = _pick(operation, OPERATIONS)
    REQUESTS.labels(operation).inc()
    REQUEST_SECONDS.labels(operation).observe(max(seconds, 0.0))


def count_fault(operation: str, code: str) -> None:
    """A B2BFault answered; ``code`` is one of the fault codes (never the message)."""
    FAULTS.labels(_pick(operation, OPERATIONS), _pick(code, FAULT_CODES)).inc()


def count_upload(data_type: str, nbytes: int) -> None:
    """One UploadFile part accepted for storing, ``nbytes`` as sent."""
    data_type = _pick(data_type, DATA_TYPES)
    UPLOAD_BYTES.labels(data_type).inc(max(int(nbytes), 0))
    UPLOAD_SIZES.labels(data_type).observe(max(int(nbytes), 0))


def observe_processing(data_type: str, seconds: float, outcome: str = "ok") -> None:
    """One virtual file processed (parse, match, conflicts) in ``seconds``."""
    PROCESSING_SECONDS.labels(_pick(data_type, DATA_TYPES), _pick(outcome, OUTCOMES)).observe(max(seconds, 0.0))


def count_match_decision(kind: str, count: int = 1) -> None:
    """Matching decisions of one kind (``IncomingRecord.decision`` values, or ``rejected``)."""
    if count > 0:
        MATCH_DECISIONS.labels(_pick(kind, MATCH_KINDS)).inc(count)


def file_processed(data_type: str, decisions: Iterable[str], seconds: float, outcome: str = "ok") -> None:
    """A file processed by the queue worker: its processing time and its match decisions by kind.

    Never raises.
    """
    try:
        observe_processing(data_type, seconds, outcome)
        counts: dict[str, int] = {}
        for kind in decisions:
            counts[kind] = counts.get(kind, 0) + 1
        for kind, count in counts.items():
            count_match_decision(kind, count)
    except Exception:  # metrics never break processing
        pass


def count_job_run(job: str, outcome: str) -> None:
    """A maintenance job fire finished; ``job`` is the configured job name."""
    JOB_RUNS.labels(_match(job, _JOB), _pick(outcome, OUTCOMES)).inc()


def count_login_failure(channel: str) -> None:
    """A failed sign-in (``soap`` UsernameToken, ``basic``, ``web``); never the username."""
    LOGIN_FAILURES.labels(_pick(channel, CHANNELS)).inc()


def count_lockout(channel: str) -> None:
    LOCKOUTS.labels(_pick(channel, CHANNELS)).inc()


def multiprocess_dir() -> str | None:
    """The shared directory of multiprocess mode, or None (one process)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or None


def mark_process_dead(pid: int) -> None:
    """Tell multiprocess mode a worker process is gone (its counters stay in the sums)."""
    if multiprocess_dir():
        try:
            multiprocess.mark_process_dead(pid)
        except Exception:
            pass


class QueueCollector:
    """Queue depth and the age of its oldest entry, read from the database when scraped.

    Two aggregate queries over the (small) queue table, cached for ``ttl`` seconds so
    frequent scrapes cost nothing.
    """

    def __init__(self, sessions, ttl: float = 5.0) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, int, float] | None = None

    def _read(self) -> tuple[int, float]:
        from .db import QueueEntry, session_scope, utcnow
        with session_scope(self.sessions) as session:
            depth, oldest = session.execute(select(func.count(), func.min(QueueEntry.enqueued_at))).one()
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        return int(depth), max(age, 0.0)

    def collect(self):
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > self.ttl:
                self._cached = (now, *self._read())
            _, depth, age = self._cached
        yield GaugeMetricFamily("b2b_soap_queue_depth", "virtual files waiting for processing", value=depth)
        yield GaugeMetricFamily("b2b_soap_queue_oldest_age_seconds", "age of the oldest queued file",
                                value=age)


def _scrape_registry(queue: QueueCollector) -> CollectorRegistry:
    registry = CollectorRegistry()
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(queue)
    return registry


class _Forward:
    """Exposes another registry's samples inside a scrape registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self):
        return self.source.collect()


def metrics_app(ctx) -> Callable:
    """A WSGI app answering ``GET`` with the Prometheus text format (mount it at ``/metrics``)."""
    registry = _scrape_registry(QueueCollector(ctx.sessions))

    def app(environ, start_response):
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Length", "0")])
            return [b""]
        body = generate_latest(registry)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]

    return app
