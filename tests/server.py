"""Start the real server for tests, and make zeep clients for it.

Usage (any test module; ``tests/`` is on ``sys.path`` under pytest)::

    from server import running_server, zeep_client
    from service_setup import ServiceEnv

    def test_something(tmp_path, database_url):
        env = ServiceEnv.create(tmp_path, database_url)
        env.add_school("9994000", "sims")
        with running_server(env.config_path) as srv:
            client = zeep_client(srv, "sims", PASSWORD)          # UsernameToken
            basic = zeep_client(srv, "sims", PASSWORD, basic=True)
            client.service.GetServerInfo()

``running_server`` runs ``python -m b2b_soap.commands.serve --config FILE`` (``b2b-soap serve``) in a subprocess on a
free 127.0.0.1 port, waits until ``/health`` answers, yields a :class:`RunningServer` and
stops it at the end (SIGTERM, then SIGKILL). ``background=True`` also starts the background
components (processing worker, scheduler) as ``b2b-soap serve`` does; the default leaves
them off so tests see files exactly as the service stored them. ``workers=N`` runs
``serve --workers N`` (PostgreSQL only).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

__all__ = ["RunningServer", "running_server", "start_server", "zeep_client", "free_port", "http_post", "wait_for"]

ROOT = Path(__file__).resolve().parents[1]
STUDENT_PATH, ADMIN_PATH = "/B2BStudent.svc", "/B2BAdmin.svc"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningServer:
    url: str  # http://127.0.0.1:PORT
    process: subprocess.Popen
    log_path: Path
    config_path: Path

    @property
    def student_url(self) -> str:
        return self.url + STUDENT_PATH

    @property
    def admin_url(self) -> str:
        return self.url + ADMIN_PATH

    def health(self) -> dict:
        with urllib.request.urlopen(self.url + "/health", timeout=5) as response:
            return json.loads(response.read())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as in a crash."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(config_path: Path, *, background: bool = False, env: dict | None = None,
                 timeout: float = 30.0, port: int | None = None, workers: int = 1,
                 stop_timeout: float = 8) -> RunningServer:
    """Start the server and wait until /health answers; the caller must ``stop()`` it.

    ``workers`` above 1 runs ``serve --workers N --stop-timeout S`` (PostgreSQL only): N processes
    on the port (S within ``stop()``'s 10 s)."""
    port = port or free_port()
    log_path = Path(config_path).parent / f"server-{port}.log"
    environ = {**os.environ, "B2B_SOAP_SERVER_HOST": "127.0.0.1", "B2B_SOAP_SERVER_PORT": str(port),
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {})}
    command = [sys.executable, "-m", "b2b_soap.commands.serve", "--config", str(config_path)]
    if not background:
        command.append("--no-background")
    if workers > 1:
        command += ["--workers", str(workers), "--stop-timeout", str(stop_timeout)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environ, cwd=ROOT)
    server = RunningServer(f"http://127.0.0.1:{port}", process, log_path, Path(config_path))
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()[-3000:]}")
        try:
            urllib.request.urlopen(server.url + "/health", timeout=2).close()
            return server
        except urllib.error.HTTPError:
            return server  # it answers (503 when the database is down)
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"server did not answer within {timeout} s:\n{server.log()[-3000:]}")
            time.sleep(0.05)


@contextmanager
def running_server(config_path: Path, **kwargs) -> Iterator[RunningServer]:
    server = start_server(config_path, **kwargs)
    try:
        yield server
    finally:
        server.stop()


def zeep_client(server: RunningServer, username: str | None, password: str | None, *, basic: bool = False,
                admin: bool = False, timeout: float = 60):
    """A zeep client for the student (or admin) service with a UsernameToken, or HTTP Basic."""
    import requests
    from zeep import Client, Settings
    from zeep.transports import Transport
    from zeep.wsse.username import UsernameToken

    session = requests.Session()
    if basic and username is not None:
        session.auth = (username, password)
    transport = Transport(session=session, timeout=timeout, operation_timeout=timeout)
    wsse = UsernameToken(username, password) if (username is not None and not basic) else None
    url = (server.admin_url if admin else server.student_url) + "?wsdl"
    return Client(url, wsse=wsse, transport=transport, settings=Settings(strict=True, xml_huge_tree=False))


def http_post(server: RunningServer, body: bytes, *, path: str = STUDENT_PATH, headers: dict | None = None,
              timeout: float = 30) -> tuple[int, dict, bytes]:
    """POST raw bytes; (status, headers, body), also for error statuses."""
    request = urllib.request.Request(server.url + path, data=body, method="POST",
                                     headers={"Content-Type": "text/xml; charset=utf-8", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def wait_for(condition, timeout: float, what: str = "the condition", interval: float = 0.1):
    """Poll ``condition`` until it returns something truthy (returned), or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
