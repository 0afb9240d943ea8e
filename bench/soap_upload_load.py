"""Load test of UploadFile: the 2,000-pupil example file, gzip, N concurrent clients, loopback only.

    .venv/bin/python bench/soap_upload_load.py [--uploads 80] [--clients 8] [--database-url URL]

Starts the real server (``tests/server.py``, processing worker off: an upload is acknowledged
once it is stored, and the worker validates it later) on a temporary SQLite
database (or ``--database-url``), sends a fixed number of uploads with the same envelope
bytes per client (a fresh FileGuid each), and prints uploads/s, p50/p95 latency, the
server's peak RSS and the median time of each step measured in-process. Then the same
envelopes go to a bare WSGI endpoint (no spyne, no zeep server side) under the same cheroot
settings that calls the very same transfer functions; the ratio of the two throughputs is
the cost of the SOAP layer.
"""
from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from b2b_soap.db import upgrade  # noqa: E402
from server import free_port, start_server  # noqa: E402
from service_setup import PASSWORD, ServiceEnv, student_file  # noqa: E402

TNS = "http://schemas.b2b-soap.org/student/2026/01"
ACTION = f'"{TNS}/IB2BStudentService/UploadFile"'
BASIC = "Basic " + base64.b64encode(f"sims:{PASSWORD}".encode()).decode()


def envelope(data: bytes, content: bytes, guid: str, part: int = 1, parts: int = 1, total: int | None = None) -> bytes:
    """An UploadFile envelope carrying ``content`` (gzip) as part ``part`` of ``data``."""
    return (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
            f'<UploadFile xmlns="{TNS}"><header><FileGuid>{guid}</FileGuid><DataType>Student</DataType>'
            f'<FileName>pupils.xml</FileName><TotalBytes>{len(data) if total is None else total}</TotalBytes>'
            f'<Sha256>{hashlib.sha256(data).hexdigest()}</Sha256><Compression>Gzip</Compression>'
            f'<PartNumber>{part}</PartNumber><PartCount>{parts}</PartCount></header><content>').encode() \
        + base64.b64encode(content) + b"</content></UploadFile></s:Body></s:Envelope>"


def load(port: int, path: str, bodies: list[bytes], clients: int) -> tuple[float, list[float], int]:
    """Send every body once across ``clients`` keep-alive connections; (seconds, latencies, failures)."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def run(chunk: list[bytes]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for body in chunk:
            started = time.perf_counter()
            connection.request("POST", path, body, {"Content-Type": "text/xml; charset=utf-8",
                                                    "SOAPAction": ACTION, "Authorization": BASIC})
            response = connection.getresponse()
            answer = response.read()
            with lock:
                latencies.append(time.perf_counter() - started)
                if response.status != 200 or b"Received" not in answer:
                    failures[0] += 1
                    if failures[0] == 1:
                        print("first failure:", response.status, answer[:400], file=sys.stderr)
        connection.close()

    threads = [threading.Thread(target=run, args=(bodies[i::clients],)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, failures[0]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (the machine may be shared: this does not depend on load)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured_load(pid: int, port: int, path: str, bodies: list[bytes], clients: int
                  ) -> tuple[float, list[float], int, float]:
    """:func:`load`, and the server's CPU seconds it took."""
    before = cpu_seconds(pid)
    seconds, latencies, failures = load(port, path, bodies, clients)
    return seconds, latencies, failures, cpu_seconds(pid) - before


def report(name: str, seconds: float, latencies: list[float], failures: int, cpu: float, rss: float) -> float:
    latencies = sorted(latencies)
    rate = len(latencies) / seconds
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    print(f"{name:>5}: {len(latencies)} uploads in {seconds:.1f} s = {rate:.2f} uploads/s, "
          f"p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"failures {failures}, server CPU {cpu * 1000 / len(latencies):.0f} ms per upload, "
          f"server peak RSS {rss:.0f} MB")
    return rate


def step_timings(data: bytes, content: bytes, body: bytes, rounds: int = 5) -> None:
    """Median ms of each step of one upload, measured in this process (XSD validation is the
    worker's, no longer the request's: shown for scale)."""
    from lxml import etree

    from b2b_soap.transfer.compression import gunzip_capped
    from b2b_soap.transfer.crypto import KeyRing
    from b2b_soap.transfer.validate import validate_transfer

    ring = KeyRing({"bench": b"k" * 32})
    steps = {
        "envelope parse": lambda: etree.fromstring(body, etree.XMLParser(resolve_entities=False, huge_tree=False)),
        "base64 decode": lambda: base64.b64decode(base64.b64encode(content)),
        "capped gunzip": lambda: gunzip_capped(content, 20 * 1024 * 1024),
        "sha-256": lambda: hashlib.sha256(data).hexdigest(),
        "(worker) xsd validation": lambda: validate_transfer(data, "Student"),
        "encryption": lambda: ring.encrypt(content, b"file-id"),
    }
    print("steps (median ms):", ", ".join(
        f"{name} {statistics.median(_time(fn) for _ in range(rounds)):.1f}" for name, fn in steps.items()))


def _time(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=80)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--pupils", type=int, default=2000)
    parser.add_argument("--slots", type=int, default=4, help="server.max_concurrent_uploads")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="b2b-bench-"))
    url = args.database_url or f"sqlite:///{root / 'bench.db'}"
    upgrade(url)
    env = ServiceEnv.create(root / "env", url, server={"threads": args.clients,
                                                        "max_concurrent_uploads": args.slots,
                                                        "access_log": False,
                                                        "max_request_bytes": 16 * 1024 * 1024})
    env.add_school("9994000", "sims")
    data = student_file("9994000", pupils=args.pupils)
    content = gzip.compress(data)
    print(f"file: {args.pupils} pupils, {len(data) / 1024:.0f} KiB raw, {len(content) / 1024:.0f} KiB gzip; "
          f"{args.uploads} uploads, {args.clients} clients")
    step_timings(data, content, envelope(data, content, str(uuid.uuid4())))

    bodies = lambda: [envelope(data, content, str(uuid.uuid4())) for _ in range(args.uploads)]  # noqa: E731
    srv = start_server(env.config_path)
    try:
        load(int(srv.url.rsplit(":", 1)[1]), "/B2BStudent.svc", bodies()[: args.clients], args.clients)  # warm up
        soap = report("soap", *measured_load(srv.process.pid, int(srv.url.rsplit(":", 1)[1]), "/B2BStudent.svc",
                                             bodies(), args.clients), peak_rss_mb(srv.process.pid))
    finally:
        srv.stop()

    port = free_port()
    bare = subprocess.Popen([sys.executable, str(Path(__file__).with_name("soap_bare_wsgi.py")),
                             str(env.config_path), str(port)], cwd=ROOT)
    try:
        _wait(port)
        load(port, "/bare", bodies()[: args.clients], args.clients)
        plain = report("bare", *measured_load(bare.pid, port, "/bare", bodies(), args.clients), peak_rss_mb(bare.pid))
    finally:
        bare.terminate()
        bare.wait(10)
    print(f"SOAP layer cost: bare/soap throughput ratio {plain / soap:.2f} (target <= 1.2)")
    env.close()
    return 0


def _wait(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("bare endpoint did not start")


if __name__ == "__main__":
    sys.exit(main())
