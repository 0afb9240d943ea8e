"""``serve --workers N``: N server processes on one port, under one supervising parent.

The parent binds and listens, then forks N children that each run cheroot on the inherited
socket (the kernel hands each connection to one of them) with their own
:class:`~b2b_soap.context.AppContext` (database engine created after the fork) and their own
background components. The parent only supervises: it restarts a child that dies, forwards
SIGTERM/SIGINT and waits for the children. PostgreSQL only; SQLite allows one process.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .. import metrics
from ..config import Settings
from ..context import AppContext
from ..processing.worker import build_before_fork, start_processing
from .server import BACKGROUND_STARTERS, Starter, check_ready, listen_socket, serve

__all__ = ["serve_workers", "Supervisor"]

# What the ``--workers`` parent prepares once before forking, for the background component it serves;
# each returns what undoes it once the workers have stopped (or None).
BEFORE_FORK: dict[Starter, Callable[[AppContext], Callable[[], None] | None]] = {start_processing: build_before_fork}

log = logging.getLogger("b2b_soap.server")


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


def _before_fork(ctx: AppContext, starters: Iterable[Starter]) -> list[Callable[[], None]]:
    undo = [BEFORE_FORK[starter](ctx) for starter in starters if starter in BEFORE_FORK]
    return [step for step in undo if step is not None]


def serve_workers(settings: Settings, workers: int, starters: Iterable[Starter] | None = None,
                  stop_timeout: float = 60.0) -> int:
    """Serve with ``workers`` processes on one port until SIGTERM or Ctrl-C; the exit status.

    ``b2b-soap serve`` has already refused what cannot work (SQLite, more than 64 workers).

    ``PROMETHEUS_MULTIPROC_DIR`` must already be set (before prometheus-client was
    imported) for ``/metrics`` to sum over the processes: ``b2b-soap serve`` does that.
    """
    server_settings = settings.server
    ctx = AppContext(settings)  # fail here, once, when the database or the key is not usable
    try:
        check_ready(ctx)
        # listening already: requests sent while the workers' population index is built wait in the backlog
        sock = listen_socket(server_settings.host, server_settings.port)
        try:
            after_workers = _before_fork(ctx, BACKGROUND_STARTERS if starters is None else starters)
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
        for step in after_workers:
            step()
