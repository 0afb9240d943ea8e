"""``b2b-soap serve``: the WSGI app under cheroot, plus the background components.

Background components (the processing worker, the maintenance scheduler, ...) are started
through :data:`BACKGROUND_STARTERS`: each entry is ``"module:function"``; the function takes
the :class:`~b2b_soap.context.AppContext` and returns a callable that stops it (or None when
it decides not to run, e.g. disabled in config). They start after the database check and
stop, newest first, when the server stops.

``serve --workers N`` (:func:`serve_workers`) runs N such processes on one port: the
parent binds and listens, then forks N children that each run cheroot on the inherited
socket (the kernel hands each connection to one of them) with their own
:class:`AppContext` (database engine created after the fork) and their own background
components. The parent only supervises: it restarts a child that dies, forwards
SIGTERM/SIGINT and waits for the children. PostgreSQL only; SQLite allows one process.
"""
from __future__ import annotations

import ctypes
import faulthandler
import importlib
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from sqlalchemy import text

from ..attainment import check_directories
from .. import metrics
from ..config import Settings
from ..context import AppContext
from ..db import is_sqlite, session_scope
from ..logging_setup import configure_logging
from .wsgi import make_wsgi_app

__all__ = ["BACKGROUND_STARTERS", "Starter", "Stopper", "serve", "make_server", "AccessLog", "CannotListen",
           "start_background", "configure_logging", "serve_workers", "Supervisor", "WorkersRefused",
           "check_workers", "listen_socket"]

Stopper = Callable[[], None]
Starter = Callable[[AppContext], "Stopper | None"]

# "module:function" entries; a module that is not there yet is skipped with a warning.
BACKGROUND_STARTERS: list[str] = [
    "b2b_soap.processing.worker:start_processing",
    "b2b_soap.maintenance:start_scheduler",
    "b2b_soap.alerts:start_alert_delivery",
]

# What the ``--workers`` parent prepares once before forking, for the background component it serves.
BEFORE_FORK: dict[str, str] = {
    "b2b_soap.processing.worker:start_processing": "b2b_soap.processing.worker:build_before_fork",
}

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


def _check_ready(ctx: AppContext) -> None:
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


def serve(ctx: AppContext, starters: Iterable[str | Starter] | None = None,
          sock: socket.socket | None = None, stop_deadline: float | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C; background components run alongside.

    With ``stop_deadline`` (seconds), a stop that takes longer (a request thread stuck)
    dumps every thread's stack to stderr and ends the process.
    """
    limit_malloc_arenas()
    _check_ready(ctx)
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


# --- several processes -----------------------------------------------------------------

class WorkersRefused(Exception):
    """``--workers`` cannot be honoured for this configuration (e.g. SQLite)."""


def check_workers(settings: Settings, workers: int) -> None:
    """Raise :class:`WorkersRefused` unless ``workers`` processes may serve this database."""
    if workers < 1:
        raise WorkersRefused("--workers must be at least 1")
    if workers > 1 and is_sqlite(settings.database_url):
        raise WorkersRefused(
            f"--workers {workers}: SQLite allows only one server process (one writer, and the "
            "processing queue and job locks need PostgreSQL). Use PostgreSQL "
            "(database.url = \"postgresql://...\") to run several processes, or serve with --workers 1.")


_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Linux: SIGTERM this child when the supervisor dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(0)


@dataclass
class Supervisor:
    """The ``--workers`` parent: forks the children, restarts any that dies, stops them all.

    ``stop_timeout`` bounds how long the children get to finish after SIGTERM before SIGKILL.
    A child that dies within ``min_uptime`` seconds of starting is restarted after a growing
    delay (1, 2, 4 ... 30 s); after ``max_fast_failures`` such deaths in a row the
    supervisor gives up (exit status 1), e.g. when the database is gone for good.
    """

    settings: Settings
    sock: socket.socket
    workers: int
    starters: list | None = None
    stop_timeout: float = 60.0
    min_uptime: float = 10.0
    max_fast_failures: int = 8
    children: dict[int, tuple[int, float]] = field(default_factory=dict)  # pid -> (slot, started)
    _stopping: bool = False
    _gave_up: bool = False
    _fast_failures: dict[int, int] = field(default_factory=dict)
    _pending: list[tuple[float, int]] = field(default_factory=list)  # (when, slot) to start

    def _spawn(self, slot: int) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                _die_with_parent(parent)
                ctx = AppContext(self.settings)  # its own engine and pool, created after the fork
                try:
                    serve(ctx, self.starters, sock=self.sock, stop_deadline=max(self.stop_timeout - 5, 1))
                    code = 0
                finally:
                    ctx.close()
            except BaseException:  # noqa: BLE001  (log whatever ended the child, then leave)
                log.exception("worker %d (pid %d) failed", slot, os.getpid())
            finally:
                logging.shutdown()
                os._exit(code)
        self.children[pid] = (slot, time.monotonic())
        log.info("worker %d started (pid %d)", slot, pid)

    def _on_signal(self, signum, _frame) -> None:
        self._stopping = True

    def _reap(self) -> bool:
        """Handle one dead child; False when none has died."""
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0 or pid not in self.children:
            return False
        slot, started = self.children.pop(pid)
        metrics.mark_process_dead(pid)
        if self._stopping:
            return True
        how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exit status {os.waitstatus_to_exitcode(status)}")
        if time.monotonic() - started < self.min_uptime:
            self._fast_failures[slot] = self._fast_failures.get(slot, 0) + 1
        else:
            self._fast_failures[slot] = 0
        failures = self._fast_failures[slot]
        if failures > self.max_fast_failures:
            log.error("worker %d (pid %d) ended (%s); it failed %d times in a row right after starting: "
                      "giving up", slot, pid, how, failures - 1)
            self._stopping = True
            self._gave_up = True
            return True
        delay = 0.0 if failures == 0 else min(30.0, 2.0 ** (failures - 1))
        log.warning("worker %d (pid %d) ended (%s); restarting it%s", slot, pid, how,
                    f" in {delay:.0f} s" if delay else "")
        self._pending.append((time.monotonic() + delay, slot))
        return True

    def run(self) -> int:
        """Start the children and supervise until SIGTERM/SIGINT; the exit status."""
        self._gave_up = False
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for slot in range(self.workers):
                self._spawn(slot)
            while not self._stopping:
                if self._reap():
                    continue
                now = time.monotonic()
                for item in [p for p in self._pending if p[0] <= now]:
                    self._pending.remove(item)
                    if not self._stopping:
                        self._spawn(item[1])
                time.sleep(0.2)
        finally:
            self._stop_children()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("all workers stopped")
        return 1 if self._gave_up else 0

    def _stop_children(self) -> None:
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + self.stop_timeout
        while self.children and time.monotonic() < deadline:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                break
            if pid == 0:
                time.sleep(0.1)
            elif self.children.pop(pid, None) is not None:
                metrics.mark_process_dead(pid)
        for pid in list(self.children):
            log.warning("worker pid %d did not stop within %.0f s; killing it", pid, self.stop_timeout)
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.children.pop(pid, None)


def _before_fork(ctx: AppContext, starters: Iterable[str | Starter]) -> None:
    for entry in starters:
        step = _resolve(BEFORE_FORK[entry]) if isinstance(entry, str) and entry in BEFORE_FORK else None
        if step is not None:
            step(ctx)


def serve_workers(settings: Settings, workers: int, starters: Iterable[str | Starter] | None = None,
                  stop_timeout: float = 60.0) -> int:
    """Serve with ``workers`` processes on one port until SIGTERM or Ctrl-C; the exit status.

    ``PROMETHEUS_MULTIPROC_DIR`` must already be set (before prometheus-client was
    imported) for ``/metrics`` to sum over the processes: ``b2b-soap serve`` does that.
    """
    check_workers(settings, workers)
    server_settings = settings.server
    ctx = AppContext(settings)  # fail here, once, when the database or the key is not usable
    try:
        _check_ready(ctx)
        # listening already: requests sent while the workers' population index is built wait in the backlog
        sock = listen_socket(server_settings.host, server_settings.port)
        try:
            _before_fork(ctx, BACKGROUND_STARTERS if starters is None else starters)
        except BaseException:
            sock.close()
            raise
    finally:
        ctx.close()  # no connection may cross the fork
    host, port = sock.getsockname()[:2]
    log.info("supervisor pid %d: %d workers on %s:%s%s", os.getpid(), workers, host, port,
             f" (metrics in {metrics.multiprocess_dir()})" if metrics.multiprocess_dir() else "")
    try:
        return Supervisor(settings, sock, workers, list(starters) if starters is not None else None,
                          stop_timeout=stop_timeout).run()
    finally:
        sock.close()
