"""``b2b-soap serve``: the WSGI app under cheroot, plus the background components.

Background components (the processing worker, the maintenance scheduler, ...) are started
through :data:`BACKGROUND_STARTERS`: each entry is ``"module:function"``; the function takes
the :class:`~b2b_soap.context.AppContext` and returns a callable that stops it (or None when
it decides not to run, e.g. disabled in config). They start after the database check and
stop, newest first, when the server stops.
"""
from __future__ import annotations

import importlib
import logging
import signal
import sys
import time
from typing import Callable, Iterable

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from sqlalchemy import text

from ..context import AppContext
from ..db import session_scope
from .wsgi import make_wsgi_app, quiet_spyne_logs

__all__ = ["BACKGROUND_STARTERS", "Starter", "Stopper", "serve", "make_server", "AccessLog",
           "start_background", "configure_logging"]

Stopper = Callable[[], None]
Starter = Callable[[AppContext], "Stopper | None"]

# "module:function" entries; a module that is not there yet is skipped with a warning.
BACKGROUND_STARTERS: list[str] = [
    "b2b_soap.processing.worker:start_processing",
    "b2b_soap.maintenance:start_scheduler",
    "b2b_soap.alerts:start_alert_delivery",
]

log = logging.getLogger("b2b_soap.server")
access = logging.getLogger("b2b_soap.access")


class AccessLog:
    """One line per request: client, method, path (no query, no credentials), status, bytes, ms, user."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable):
        started = time.perf_counter()
        seen: dict = {}

        def record(status, headers, exc_info=None):
            seen["status"] = status.split(" ", 1)[0]
            seen["bytes"] = next((v for k, v in headers if k.lower() == "content-length"), "-")
            return start_response(status, headers, exc_info)

        result = self.app(environ, record)
        access.info("%s %s %s %s %s %.0fms user=%s", environ.get("REMOTE_ADDR", "-"), environ.get("REQUEST_METHOD"),
                    environ.get("PATH_INFO", ""), seen.get("status", "-"), seen.get("bytes", "-"),
                    (time.perf_counter() - started) * 1000, environ.get("b2b.username", "-"))
        return result


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_spyne_logs()


def _resolve(entry: str | Starter) -> Starter | None:
    if callable(entry):
        return entry
    module_name, _, function = entry.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            log.warning("background component %s is not installed; skipped", entry)
            return None
        raise
    return getattr(module, function)


def start_background(ctx: AppContext, starters: Iterable[str | Starter] | None = None) -> list[Stopper]:
    """Start every background component; their stoppers, in start order."""
    stoppers = []
    for entry in BACKGROUND_STARTERS if starters is None else starters:
        starter = _resolve(entry)
        stopper = starter(ctx) if starter is not None else None
        if stopper is not None:
            stoppers.append(stopper)
    return stoppers


def make_server(ctx: AppContext) -> wsgi.Server:
    """A cheroot server for the settings: threads, request size bound, TLS, access log."""
    server_settings = ctx.settings.server
    app = make_wsgi_app(ctx)
    server = wsgi.Server((server_settings.host, server_settings.port),
                         AccessLog(app) if server_settings.access_log else app,
                         numthreads=server_settings.threads, server_name="b2b-soap",
                         request_queue_size=64, timeout=60)
    server.max_request_body_size = server_settings.max_request_bytes
    if server_settings.tls_cert:
        server.ssl_adapter = BuiltinSSLAdapter(server_settings.tls_cert, server_settings.tls_key)
    return server


def _check_ready(ctx: AppContext) -> None:
    """Fail at start-up, not on the first call: the database answers and the key ring loads."""
    with session_scope(ctx.sessions) as session:
        session.execute(text("SELECT 1"))
    ctx.keyring  # noqa: B018  (loads, or raises KeyFileError naming the file)


def serve(ctx: AppContext, starters: Iterable[str | Starter] | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C; background components run alongside."""
    _check_ready(ctx)
    server = make_server(ctx)
    server.prepare()
    host, port = server.bind_addr[:2]
    scheme = "https" if ctx.settings.server.tls_cert else "http"
    stoppers = start_background(ctx, starters)

    def stop_on_signal(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop_on_signal)
    log.info("serving %s://%s:%s/B2BStudent.svc (%d threads)", scheme, host, port, ctx.settings.server.threads)
    try:
        server.serve()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()
        for stop in reversed(stoppers):
            try:
                stop()
            except Exception:  # one component failing to stop must not keep the others running
                log.exception("a background component failed to stop")
        log.info("stopped")
