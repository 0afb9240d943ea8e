"""Soak: good SIMS clients uploading for a while amid hostile requests, on loopback; stops by itself.

    .venv/bin/python bench/soak.py [--minutes 10] [--clients 8] [--pupils 200] [--database-url URL]

Starts the real server (``tests/server.py``, processing worker off) on a temporary SQLite
database (or ``--database-url``). Good clients upload Student files (gzip, fresh FileGuid
each, retrying on ServerBusy as SIMS does). At the same time: multi-part gzip bombs from
another school account, 10 slow bodies trickling a byte a second, envelopes in UTF-16 or
with an unknown charset, and floods of 8 MB bodies without credentials. Prints throughput
and p50/p95 of the good uploads, their errors, what each hostile request got back, /health
failures, the server's peak RSS, and whether every receipted upload is stored intact.
"""
from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import http.client
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from b2b_soap.db import VirtualFile, session_scope, upgrade  # noqa: E402
from b2b_soap.files import read_content  # noqa: E402
from server import start_server  # noqa: E402
from service_setup import PASSWORD, ServiceEnv, student_file  # noqa: E402
from soap_upload_load import ACTION, BASIC, envelope, peak_rss_mb  # noqa: E402

STUDENT_PATH = "/B2BStudent.svc"
BOMBER = "Basic " + base64.b64encode(f"bomber:{PASSWORD}".encode()).decode()
_FILE_ID = re.compile(rb"<(?:\w+:)?FileId>([^<]+)</(?:\w+:)?FileId>")
_CODE = re.compile(rb"<(?:\w+:)?Code>([A-Za-z]+)</(?:\w+:)?Code>")


@dataclass
class Tally:
    """Everything the soak counts, shared by its threads."""

    latencies: list[float] = field(default_factory=list)
    receipts: dict[str, str] = field(default_factory=dict)  # file id -> sha-256 of the file sent
    good_errors: Counter = field(default_factory=Counter)
    busy_retries: int = 0
    hostile: Counter = field(default_factory=Counter)
    health_failures: int = 0
    max_rss_mb: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str) -> None:
        with self.lock:
            self.hostile[what] += 1


def post(port: int, body: bytes, headers: dict, timeout: float = 120) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", STUDENT_PATH, body, {"Content-Type": "text/xml; charset=utf-8", **headers})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def outcome(status: int, answer: bytes) -> str:
    code = _CODE.search(answer[:4096])
    return f"{status} {code.group(1).decode()}" if code else str(status)


def good_client(port: int, until: float, files: list[tuple[bytes, bytes]], tally: Tally, number: int) -> None:
    sent = 0
    while time.monotonic() < until:
        data, content = files[(number + sent) % len(files)]
        body, sent = envelope(data, content, str(uuid.uuid4())), sent + 1
        started = time.perf_counter()
        for _attempt in range(10):
            try:
                status, answer = post(port, body, {"SOAPAction": ACTION, "Authorization": BASIC})
            except (OSError, http.client.HTTPException) as exc:
                status, answer = 0, type(exc).__name__.encode()
            if b"ServerBusy" in answer:
                with tally.lock:
                    tally.busy_retries += 1
                time.sleep(1)
                continue
            break
        with tally.lock:
            found = _FILE_ID.search(answer) if status == 200 and b"Received" in answer else None
            if found:
                tally.latencies.append(time.perf_counter() - started)
                tally.receipts[found.group(1).decode()] = hashlib.sha256(data).hexdigest()
            else:
                tally.good_errors[outcome(status, answer) if status else answer.decode()] += 1


def bombs(port: int, until: float, cap: int, tally: Tally) -> None:
    bomb = gzip.compress(bytes(cap - 4096), compresslevel=9)
    while time.monotonic() < until:
        guid, parts = str(uuid.uuid4()), 40
        for part in range(1, parts + 1):
            status, answer = post(port, envelope(b"", bomb, guid, part=part, parts=parts, total=cap),
                                  {"Authorization": BOMBER})
            if status != 200:
                tally.count(f"bomb: {outcome(status, answer)}")
                break


def slow_bodies(port: int, until: float, tally: Tally, sockets: int = 10) -> None:
    def open_one() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(f"POST {STUDENT_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
                     "Content-Length: 8000000\r\n\r\n<".encode())
        return sock

    slow = [open_one() for _ in range(sockets)]
    while time.monotonic() < until:
        for i, sock in enumerate(slow):
            try:
                sock.sendall(b" ")
                continue
            except OSError:
                pass
            try:
                answer = sock.recv(64)
            except OSError:
                answer = b""
            tally.count("slow body: " + (answer.split(b"\r\n")[0].decode(errors="replace") or "closed"))
            sock.close()
            slow[i] = open_one()
        time.sleep(1)
    for sock in slow:
        sock.close()


def bad_charsets(port: int, until: float, tally: Tally) -> None:
    info = (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
            f'<GetServerInfo xmlns="http://schemas.b2b-soap.org/student/2026/01"/></s:Body></s:Envelope>')
    requests = [(info.encode("utf-16"), "text/xml; charset=utf-8"), (info.encode(), "text/xml; charset=x-bogus"),
                (info.replace("GetServerInfo", "GetFileStatus").replace("/>", ">café</GetFileStatus>")
                 .encode("iso-8859-1"), "text/xml; charset=iso-8859-1")]
    while time.monotonic() < until:
        for body, content_type in requests:
            status, answer = post(port, body, {"Authorization": BASIC, "Content-Type": content_type})
            tally.count(f"bad charset: {outcome(status, answer)}")
        time.sleep(0.2)


def floods(port: int, until: float, tally: Tally) -> None:
    body = b"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body><x>" + b"a" * 8_000_000 \
        + b"</x></s:Body></s:Envelope>"
    while time.monotonic() < until:
        try:
            status, answer = post(port, body, {})
            tally.count(f"unauthenticated 8 MB: {outcome(status, answer)}")
        except (OSError, http.client.HTTPException) as exc:
            tally.count(f"unauthenticated 8 MB: {type(exc).__name__}")


def watch(url: str, pid: int, until: float, tally: Tally) -> None:
    while time.monotonic() < until:
        rss = next(int(line.split()[1]) / 1024 for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if line.startswith("VmRSS:"))
        try:
            urllib.request.urlopen(url + "/health", timeout=5).close()
        except OSError:
            with tally.lock:
                tally.health_failures += 1
        with tally.lock:
            tally.max_rss_mb = max(tally.max_rss_mb, rss)
        time.sleep(1)


def missing_receipts(env: ServiceEnv, receipts: dict[str, str]) -> list[str]:
    """Receipted file ids that are not stored, or whose content is not what was sent."""
    missing = []
    with session_scope(env.ctx.sessions) as session:
        for file_id, sha in receipts.items():
            vf = session.get(VirtualFile, file_id)
            if vf is None or hashlib.sha256(read_content(env.ctx.keyring, vf)).hexdigest() != sha:
                missing.append(file_id)
    return missing


def report(tally: Tally, seconds: float, rss_peak: float, missing: list[str]) -> None:
    latencies = sorted(tally.latencies)
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)] if latencies else float("nan")
    print(f"good uploads: {len(latencies)} in {seconds:.0f} s = {len(latencies) / seconds:.2f}/s, "
          f"p50 {statistics.median(latencies) * 1000 if latencies else float('nan'):.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, ServerBusy retries {tally.busy_retries}, "
          f"errors {sum(tally.good_errors.values())} {dict(tally.good_errors) or ''}")
    for what, count in sorted(tally.hostile.items()):
        print(f"  {what}: {count}")
    print(f"/health failures: {tally.health_failures}; server RSS max {tally.max_rss_mb:.0f} MB "
          f"(sampled), peak {rss_peak:.0f} MB (VmHWM)")
    print(f"receipted uploads stored intact: {len(tally.receipts) - len(missing)} of {len(tally.receipts)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--pupils", type=int, default=200)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="b2b-soak-"))
    url = args.database_url or f"sqlite:///{root / 'soak.db'}"
    upgrade(url)
    env = ServiceEnv.create(root / "env", url, server={"threads": 32, "access_log": False})
    env.add_school("9994000", "sims")
    env.add_school("9994001", "bomber")
    files = [(data, gzip.compress(data)) for data in
             (student_file("9994000", pupils=args.pupils, seed=seed) for seed in range(4))]
    srv = start_server(env.config_path)
    port, tally = int(srv.url.rsplit(":", 1)[1]), Tally()
    started = time.monotonic()
    until = started + args.minutes * 60
    actors = [threading.Thread(target=good_client, args=(port, until, files, tally, n)) for n in range(args.clients)]
    actors += [threading.Thread(target=bombs, args=(port, until, env.settings.storage.max_file_bytes, tally)),
               threading.Thread(target=slow_bodies, args=(port, until, tally)),
               threading.Thread(target=bad_charsets, args=(port, until, tally)),
               threading.Thread(target=floods, args=(port, until, tally)),
               threading.Thread(target=floods, args=(port, until, tally)),
               threading.Thread(target=watch, args=(srv.url, srv.process.pid, until, tally))]
    print(f"soak: {args.minutes:g} min, {args.clients} good clients ({args.pupils} pupils per file), "
          f"bombs, 10 slow bodies, bad charsets, 2 unauthenticated floods; server {srv.url}", flush=True)
    try:
        for actor in actors:
            actor.start()
        for actor in actors:
            actor.join()
        seconds = time.monotonic() - started
        rss_peak = peak_rss_mb(srv.process.pid)
    finally:
        srv.stop()
    missing = missing_receipts(env, tally.receipts)
    report(tally, seconds, rss_peak, missing)
    env.close()
    return 1 if missing or tally.good_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
