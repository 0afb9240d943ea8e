"""``b2b-soap serve``: the WSGI app under cheroot, plus the background components.

Background components (the processing worker, the maintenance scheduler, alert delivery)
are started by the functions in :data:`BACKGROUND_STARTERS`: each takes the
:class:`~b2b_soap.context.AppContext` and returns a callable that stops it (or None when it
decides not to run, e.g. disabled in config). They start after the database check and
stop, newest first, when the server stops.

``serve --workers N`` runs N such processes on one port: see :mod:`b2b_soap.service.workers`.
"""
from __future__ import annotations

import ctypes
import faulthandler
import logging
import os
import signal
import socket
import time
from typing import Callable, Iterable

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from sqlalchemy import text

from ..alerts import start_alert_delivery
from ..attainment import check_directories
from ..context import AppContext
from ..db import session_scope
from ..logging_setup import configure_logging
from ..maintenance import start_scheduler
from ..processing.worker import start_processing
from .wsgi import make_wsgi_app

__all__ = ["BACKGROUND_STARTERS", "Starter", "Stopper", "serve", "make_server", "AccessLog", "CannotListen",
           "start_background", "configure_logging", "listen_socket", "limit_malloc_arenas"]

Stopper = Callable[[], None]
Starter = Callable[[AppContext], "Stopper | None"]

BACKGROUND_STARTERS: tuple[Starter, ...] = (start_processing, start_scheduler, start_alert_delivery)

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


def start_background(ctx: AppContext, starters: Iterable[Starter] | None = None) -> list[Stopper]:
    """Start every background component; their stoppers, in start order."""
    stoppers = []
    for starter in BACKGROUND_STARTERS if starters is None else starters:
        stopper = starter(ctx)
        if stopper is not None:
            stoppers.append(stopper)
    return stoppers


class _SharedSocketServer(wsgi.Server):
    """cheroot serving a socket the parent bound (and made listen) before forking."""

    inherited_socket: socket.socket | None = None

    def bind(self, family, type, proto=0):  # noqa: A002  (cheroot's signature)
        sock = self.inherited_socket
        if self.ssl_adapter is not None:
            sock = self.ssl_adapter.bind(sock)
        self.socket = sock
        self.bind_addr = self.resolve_real_bind_addr(sock)
        return sock


class CannotListen(OSError):
    """The server's address cannot be bound: the port is in use, or not allowed."""

    def __init__(self, host: str, port: int, reason: OSError | None) -> None:
        super().__init__(f"cannot listen on {host}:{port} ({reason}); another program may be using the "
                         "port: stop it, or serve on another port (--port)")


def listen_socket(host: str, port: int, backlog: int = 128) -> socket.socket:
    """A listening TCP socket for ``host:port``, as cheroot would bind it (SO_REUSEADDR, nodelay)."""
    error: OSError | None = None
    for family, socktype, proto, _name, address in socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE):
        try:
            sock = wsgi.Server.prepare_socket((host, port), family, socktype, proto, True, None)
            sock = wsgi.Server.bind_socket(sock, address)
        except OSError as exc:
            error = exc
            continue
        sock.listen(backlog)
        sock.set_inheritable(True)
        return sock
    raise CannotListen(host, port, error)


def make_server(ctx: AppContext, sock: socket.socket | None = None) -> wsgi.Server:
    """A cheroot server for the settings: threads, request size bound, TLS, access log.

    With ``sock`` (a listening socket inherited from the ``--workers`` parent) it serves
    that socket instead of binding ``server.host:server.port`` itself.
    """
    server_settings = ctx.settings.server
    app = make_wsgi_app(ctx)
    server_class = wsgi.Server if sock is None else _SharedSocketServer
    bind_addr = (server_settings.host, server_settings.port) if sock is None else sock.getsockname()[:2]
    server = server_class(bind_addr, AccessLog(app) if server_settings.access_log else app,
                          numthreads=server_settings.threads, server_name="b2b-soap",
                          request_queue_size=128, timeout=server_settings.head_seconds)
    if sock is not None:
        server.inherited_socket = sock
    server.max_request_body_size = server_settings.max_request_bytes
    if server_settings.tls_cert:
        server.ssl_adapter = BuiltinSSLAdapter(server_settings.tls_cert, server_settings.tls_key)
    return server


def check_ready(ctx: AppContext) -> None:
    """Fail at start-up, not on the first call: the database answers and the key ring loads."""
    with session_scope(ctx.sessions) as session:
        session.execute(text("SELECT 1"))
    ctx.keyring  # noqa: B018  (loads, or raises KeyFileError naming the file)
    check_directories(ctx.settings)


_M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> None:
    """glibc: cap malloc arenas before the request threads start.

    By default each thread gets its own arena, and the large, short-lived buffers of uploads
    (lxml trees, decompressed files) leave every arena fragmented: measured with
    bench/soap_upload_load.py, peak RSS fell from about 570 MB to about 420 MB with two arenas.
    ``MALLOC_ARENA_MAX`` in the environment, when set, is left to glibc.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, arenas)
    except (OSError, AttributeError):  # not glibc
        pass


def serve(ctx: AppContext, starters: Iterable[Starter] | None = None,
          sock: socket.socket | None = None, stop_deadline: float | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C; background components run alongside.

    With ``stop_deadline`` (seconds), a stop that takes longer (a request thread stuck)
    dumps every thread's stack to stderr and ends the process.
    """
    limit_malloc_arenas()
    check_ready(ctx)
    server = make_server(ctx, sock)
    try:
        server.prepare()
    except OSError as exc:
        raise CannotListen(ctx.settings.server.host, ctx.settings.server.port, exc) from None
    host, port = server.bind_addr[:2]
    scheme = "https" if ctx.settings.server.tls_cert else "http"
    stoppers = start_background(ctx, starters)

    def stop_on_signal(signum, _frame):
        if stop_deadline:
            faulthandler.dump_traceback_later(stop_deadline, exit=True)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop_on_signal)
    log.info("serving %s://%s:%s/B2BStudent.svc (%d threads, pid %d)", scheme, host, port,
             ctx.settings.server.threads, os.getpid())
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
