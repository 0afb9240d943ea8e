"""An LA night on PostgreSQL: N bases each upload one P-pupil Student file over SOAP against a
population of M persons, served by ``b2b-soap serve --workers W`` for W in 1, 2, 4.

    .venv/bin/python bench/night_simulation.py [--bases 400] [--pupils 1000] [--persons 1000000]
        [--workers 1,2,4] [--clients 8] [--guid-share 0.25]
        [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

Set-up (once): a throwaway template database with the population (``b2b_soap.synth``, loaded
by COPY), one base and school user per school and a licence; the files, gzip-compressed, drawn
as ``bench/gen_matching_benchmark.py --mode hard`` draws its pupils (1 to 3 corruptions per
known pupil: missing and temporary UPNs, typos, nicknames, swapped names, moves to varied
addresses; new pupils and look-alikes), with their carers as contacts. ``--guid-share`` of the
known pupils are already linked by SIMS GUID at their base, as an earlier night leaves them.
Each worker count then gets its own copy of the template (``CREATE DATABASE ... TEMPLATE``), a
real server on loopback with the processing worker on, started cold (the population index is
built at start), and ``--clients`` concurrent uploaders (HTTP Basic, each base its own user;
ServerBusy is retried). The night starts once every worker has its index; the time from the
server's start is printed. Measured from the first upload until every file is ``Processed``:
files/minute, end-to-end time, p50/p95 upload latency, database size, the share of records
decided by GUID, UPN, demographics or left for review, where the workers' time went (from the
per-file step times in the processing log), and each process's peak RSS, PSS and USS (private
pages; ``/proc/PID/smaps_rollup``). All databases are dropped at the end. Loopback only; every
run is bounded by ``--timeout``.
"""
from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import http.client
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from sqlalchemy import create_engine, func, make_url, select, text  # noqa: E402

from b2b_soap.db import (Base, IncomingRecord, PersonIdentifier, QueueEntry, VirtualFile, bulk_insert,  # noqa: E402
                         normalise_url, session_scope, upgrade, utcnow)
from b2b_soap.synth import generate_population  # noqa: E402
from b2b_soap.transfer.writer import example_header, write_student_file  # noqa: E402
from server import free_port  # noqa: E402
from service_setup import PASSWORD, ServiceEnv  # noqa: E402
from synthetic_files import PupilMaker, hard_pupils, load_population  # noqa: E402

TNS = "http://schemas.b2b-soap.org/student/2026/01"
ACTION = f'"{TNS}/IB2BStudentService/UploadFile"'
TARGET_SECONDS = 600


@dataclass
class Upload:
    laestab: str
    username: str
    raw_bytes: int
    sha256: str
    content: bytes  # gzip
    records: int  # pupils + contacts


@dataclass
class RunResult:
    workers: int
    upload_seconds: float
    end_to_end: float
    latencies: list[float]
    busy_retries: int
    failures: int
    db_bytes: int
    memory_mb: dict[str, dict[str, float]]  # process -> peak RSS / PSS / USS
    processed: int
    failed_files: int
    records: int
    expected_records: int
    warm_up: float  # from the server's start until every worker had its index
    answered: float  # from the server's start until it answered HTTP
    decisions: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, decision) -> records
    phases: dict[str, float] = field(default_factory=dict)  # step -> seconds summed over files
    files_timed: int = 0

    @property
    def files_per_minute(self) -> float:
        return self.processed / self.end_to_end * 60 if self.end_to_end else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, int(round(len(ordered) * q)) - 1))] if ordered else float("nan")


# --- set-up ------------------------------------------------------------------------------

def _admin(pg_url: str):
    return create_engine(normalise_url(pg_url), isolation_level="AUTOCOMMIT")


def _db_url(pg_url: str, name: str) -> str:
    return make_url(normalise_url(pg_url)).set(database=name).render_as_string(hide_password=False)


def make_upload(laestab: str, username: str, pupils: list) -> Upload:
    data = write_student_file(example_header(source_laestab=laestab), pupils)
    records = data.count(b"<Pupil>") + data.count(b"<Contact>")
    return Upload(laestab, username, len(data), hashlib.sha256(data).hexdigest(), gzip.compress(data, 6), records)


def night_files(env: ServiceEnv, persons, links, schools: list[tuple[str, str]], pupils: int, guid_share: float
                ) -> list[Upload]:
    """One hard-mode file per school; ``guid_share`` of its known pupils linked by GUID already."""
    drawn = hard_pupils(PupilMaker(persons, links), persons, len(schools) * pupils, seed=2026)
    number = {p.id: i for i, p in enumerate(persons, start=1)}
    rng = random.Random(7)
    uploads, identifiers = [], []
    now = utcnow()
    with session_scope(env.ctx.sessions) as session:
        base_of = dict(session.execute(select(Base.laestab, Base.id)).all())
        for n, (laestab, user) in enumerate(schools):
            chunk = drawn[n * pupils:(n + 1) * pupils]
            uploads.append(make_upload(laestab, user, [pupil for pupil, _ in chunk]))
            identifiers += [{"base_id": base_of[laestab], "sims_guid": pupil.sims_guid, "person_id": number[pid],
                             "created_at": now} for pupil, pid in chunk if pid and rng.random() < guid_share]
        bulk_insert(session.connection(), PersonIdentifier.__table__, identifiers)
    return uploads


def envelope(upload: Upload) -> bytes:
    return (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
            f'<UploadFile xmlns="{TNS}"><header><FileGuid>{uuid.uuid4()}</FileGuid><DataType>Student</DataType>'
            f'<FileName>census.xml</FileName><TotalBytes>{upload.raw_bytes}</TotalBytes>'
            f'<Sha256>{upload.sha256}</Sha256><Compression>Gzip</Compression>'
            f'<PartNumber>1</PartNumber><PartCount>1</PartCount></header><content>').encode() \
        + base64.b64encode(upload.content) + b"</content></UploadFile></s:Body></s:Envelope>"


# --- one run -----------------------------------------------------------------------------

def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                pass
    return found


def _memory_mb(pid: int) -> dict[str, float]:
    """RSS (peak), PSS (shared pages split between the processes sharing them) and USS (private pages)."""
    found: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                found["rss"] = int(line.split()[1]) / 1024
        kb = {}
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, value = line.split(":", 1)
            kb[name] = int(value.split()[0])
        found["pss"] = kb.get("Pss", 0) / 1024
        found["uss"] = (kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)) / 1024
    except (OSError, ValueError):
        pass
    return found


def _keep_peaks(peaks: dict[int, dict[str, float]], pids: list[int]) -> None:
    for pid in pids:
        seen = peaks.setdefault(pid, {})
        for name, mb in _memory_mb(pid).items():
            seen[name] = max(seen.get(name, 0.0), mb)


def _wait_http(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within {timeout} s")


def _wait_warm(log_path: Path, workers: int, server: subprocess.Popen, started: float, timeout: float) -> float:
    """Seconds from ``started`` until every worker has logged its population index ready (each does
    at start; a ``--workers`` parent that built it before forking logs it too, before its own line)."""
    while time.monotonic() < started + timeout:
        log = log_path.read_bytes()
        if log.split(b"supervisor pid", 1)[-1].count(b"population index ready") >= workers:
            return time.monotonic() - started
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped; see {log_path}")
        time.sleep(0.5)
    raise RuntimeError(f"the workers were not ready within {timeout} s; see {log_path}")


def upload_all(port: int, uploads: list[Upload], clients: int, deadline: float) -> tuple[list[float], int, int]:
    """Every file once, ``clients`` at a time; (latencies, ServerBusy retries, failures)."""
    latencies: list[float] = []
    counters = {"busy": 0, "failed": 0}
    lock = threading.Lock()
    work = list(uploads)

    def run() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while time.monotonic() < deadline:
            with lock:
                if not work:
                    break
                upload = work.pop()
            body = envelope(upload)
            auth = "Basic " + base64.b64encode(f"{upload.username}:{PASSWORD}".encode()).decode()
            for _attempt in range(200):
                started = time.perf_counter()
                try:
                    connection.request("POST", "/B2BStudent.svc", body, {
                        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": ACTION, "Authorization": auth})
                    response = connection.getresponse()
                    answer = response.read()
                except (OSError, http.client.HTTPException):
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                    time.sleep(0.2)
                    continue
                elapsed = time.perf_counter() - started
                if b"ServerBusy" in answer:
                    with lock:
                        counters["busy"] += 1
                    time.sleep(0.25)
                    continue
                with lock:
                    latencies.append(elapsed)
                    if response.status != 200 or b"Received" not in answer:
                        counters["failed"] += 1
                        if counters["failed"] == 1:
                            print(f"  first failed upload: {response.status} {answer[:300]!r}", file=sys.stderr)
                break
        connection.close()

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, counters["busy"], counters["failed"]


def one_run(workers: int, env: ServiceEnv, template: str, pg_url: str, uploads: list[Upload], clients: int,
            timeout: float, workdir: Path) -> RunResult:
    name = f"b2b_night_{workers}w_{uuid.uuid4().hex[:8]}"
    admin = _admin(pg_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    url = _db_url(pg_url, name)
    config = workdir / f"night-{workers}.toml"
    config.write_text(env.config_path.read_text().replace(env.settings.database.url, url))
    port = free_port()
    log_path = workdir / f"night-{workers}.log"
    environ = {**os.environ, "B2B_SOAP_SERVER_HOST": "127.0.0.1", "B2B_SOAP_SERVER_PORT": str(port),
               "PYTHONPATH": str(ROOT)}
    environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    launched = time.monotonic()
    with open(log_path, "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "b2b_soap.commands.serve", "--config", str(config),
                                   "--workers", str(workers), "--log-level", "INFO"],
                                  stdout=log, stderr=subprocess.STDOUT, env=environ, cwd=ROOT)
    engine = create_engine(normalise_url(url))
    peaks: dict[int, dict[str, float]] = {}
    stop_sampling = threading.Event()

    def sample() -> None:
        while not stop_sampling.wait(2.0):
            _keep_peaks(peaks, [server.pid, *_children(server.pid)])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _wait_http(port, timeout)
        answered = time.monotonic() - launched
        warm_up = _wait_warm(log_path, workers, server, launched, timeout)
        started = time.monotonic()
        deadline = started + timeout
        latencies, busy, failures = upload_all(port, uploads, clients, deadline)
        upload_seconds = time.monotonic() - started
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                queued = conn.scalar(select(func.count()).select_from(QueueEntry))
                waiting = conn.scalar(select(func.count()).select_from(VirtualFile)
                                      .where(VirtualFile.status.notin_(("Processed", "Failed", "Rejected"))))
                conn.rollback()
                if queued == 0 and waiting == 0:
                    break
                time.sleep(0.5)
            end_to_end = time.monotonic() - started
            processed = conn.scalar(select(func.count()).select_from(VirtualFile)
                                    .where(VirtualFile.status == "Processed"))
            failed = conn.scalar(select(func.count()).select_from(VirtualFile)
                                 .where(VirtualFile.status == "Failed"))
            records = conn.scalar(select(func.count()).select_from(IncomingRecord))
            decisions = {(kind, decision): count for kind, decision, count in conn.execute(
                select(IncomingRecord.kind, IncomingRecord.decision, func.count())
                .group_by(IncomingRecord.kind, IncomingRecord.decision))}
            db_bytes = conn.scalar(text("SELECT pg_database_size(current_database())"))
        _keep_peaks(peaks, [server.pid, *_children(server.pid)])
    finally:
        stop_sampling.set()
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(90)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    own = "server" if workers == 1 else "supervisor"
    labels = {f"{own} {server.pid}" if pid == server.pid else f"worker {pid}": mb for pid, mb in peaks.items()}
    phases, files_timed = step_times(log_path.read_text(errors="replace"))
    return RunResult(workers, upload_seconds, end_to_end, latencies, busy, failures, db_bytes, labels, processed,
                     failed, records, sum(u.records for u in uploads), warm_up, answered, decisions, phases,
                     files_timed)


_PROCESSED = re.compile(r"processed file \S+: [^;\n]*; ([^\n]*)")
_STEP = re.compile(r"(\w+)=([0-9.]+)s")


def step_times(log: str) -> tuple[dict[str, float], int]:
    """Seconds per processing step summed over the files the log reports, and how many files."""
    totals: dict[str, float] = {}
    files = 0
    for line in _PROCESSED.findall(log):
        files += 1
        for step, seconds in _STEP.findall(line):
            totals[step] = totals.get(step, 0.0) + float(seconds)
    return totals, files


# --- main --------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bases", type=int, default=400)
    parser.add_argument("--pupils", type=int, default=1000)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--clients", type=int, default=8, help="concurrent uploading bases")
    parser.add_argument("--threads", type=int, default=8, help="server.threads per process")
    parser.add_argument("--guid-share", type=float, default=0.25,
                        help="share of known pupils already linked by SIMS GUID at their base")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per run")
    parser.add_argument("--pg-url", default=os.environ.get("B2B_SOAP_BENCH_DATABASE_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    if make_url(normalise_url(args.pg_url)).host not in ("127.0.0.1", "localhost", "::1", None):
        parser.error("the bench runs on loopback only")
    worker_counts = [int(w) for w in args.workers.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="b2b-night-"))
    template = f"b2b_night_tmpl_{uuid.uuid4().hex[:8]}"
    admin = _admin(args.pg_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{template}"'))
    results: list[RunResult] = []
    try:
        print(f"LA night: {args.bases} bases x {args.pupils} pupils vs {args.persons:,} persons; "
              f"workers {worker_counts}; {args.clients} uploading clients; {os.cpu_count()} CPUs")
        t0 = time.perf_counter()
        template_url = _db_url(args.pg_url, template)
        upgrade(template_url)
        env = ServiceEnv.create(workdir / "env", template_url,
                                processing={"enabled": True, "poll_seconds": 0.2},
                                maintenance={"enabled": False},
                                server={"threads": args.threads, "access_log": False,
                                        "max_concurrent_uploads": 8, "max_request_bytes": 64 * 1024 * 1024})
        persons, links = generate_population(args.persons, seed=2026)
        generated = time.perf_counter() - t0
        t0 = time.perf_counter()
        with session_scope(env.ctx.sessions) as session:
            load_population(session, persons, links)
        loaded = time.perf_counter() - t0
        schools = [(f"999{4000 + i:04d}", env.add_school(f"999{4000 + i:04d}", f"school{i:04d}"))
                   for i in range(args.bases)]
        print(f"set-up: population of {len(persons):,} persons and {len(links):,} carer links generated in "
              f"{generated:.0f} s, loaded in {loaded:.1f} s; {args.bases} bases")
        t0 = time.perf_counter()
        uploads = night_files(env, persons, links, schools, args.pupils, args.guid_share)
        del persons, links
        raw = sum(u.raw_bytes for u in uploads) / len(uploads) / 1024
        packed = sum(len(u.content) for u in uploads) / len(uploads) / 1024
        print(f"files (hard mode; {args.guid_share:.0%} of known pupils linked by GUID already): {len(uploads)} x "
              f"~{raw:.0f} KiB (~{packed:.0f} KiB gzip), {sum(u.records for u in uploads):,} records in all, "
              f"made in {time.perf_counter() - t0:.0f} s")
        env.close()
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                         {"n": template})
        for workers in worker_counts:
            result = one_run(workers, env, template, args.pg_url, uploads, args.clients, args.timeout, workdir)
            results.append(result)
            report(result)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    summary(results, args)
    return 0 if all(r.processed == len(uploads) and r.records == r.expected_records for r in results) else 1


# How each decision counts in the shares printed
_DECIDED_BY = {"guid": "GUID", "upn": "UPN", "auto": "demographics"}


def report(r: RunResult) -> None:
    print(f"\n--workers {r.workers}: {r.processed} files Processed, {r.failed_files} Failed; incoming records "
          f"{r.records:,} (expected {r.expected_records:,})")
    print(f"  end-to-end {r.end_to_end:.1f} s (uploads done after {r.upload_seconds:.1f} s) = "
          f"{r.files_per_minute:.1f} files/minute")
    print(f"  upload latency p50 {r.percentile(0.5) * 1000:.0f} ms, p95 {r.percentile(0.95) * 1000:.0f} ms "
          f"({len(r.latencies)} uploads, {r.busy_retries} ServerBusy retries, {r.failures} failures)")
    print(f"  database size {r.db_bytes / 2**20:.0f} MiB; started cold: the server answered after "
          f"{r.answered:.1f} s, every worker had its population index {r.warm_up:.1f} s after the start")
    for kind in ("pupil", "contact"):
        counts = {decision: n for (k, decision), n in r.decisions.items() if k == kind}
        total = sum(counts.values()) or 1
        shares = {label: counts.get(decision, 0) for decision, label in _DECIDED_BY.items()}
        shares["left for review"] = total - sum(shares.values())
        print(f"  {kind}s decided by " + ", ".join(f"{label} {n / total:.1%}" for label, n in shares.items())
              + f" (of {total:,})")
    busy = sum(r.phases.values())
    worker_seconds = r.workers * r.end_to_end
    if r.files_timed:
        print(f"  where the workers' time went ({r.files_timed} files; {worker_seconds:.0f} worker-seconds in the "
              f"night, {busy:.0f} s of them on files): "
              + ", ".join(f"{step} {seconds:.0f} s ({seconds / worker_seconds:.0%})"
                          for step, seconds in r.phases.items())
              + f"; idle or waiting for files {max(worker_seconds - busy, 0):.0f} s")
    for name, mb in sorted(r.memory_mb.items()):
        print(f"  {name}: peak RSS {mb.get('rss', 0):.0f} MB, PSS {mb.get('pss', 0):.0f} MB, "
              f"USS (private) {mb.get('uss', 0):.0f} MB")


def summary(results: list[RunResult], args) -> None:
    if not results:
        return
    base = results[0]
    print("\nworkers  files/min  end-to-end  p95 upload  speed-up vs first")
    for r in results:
        print(f"{r.workers:>7}  {r.files_per_minute:>9.1f}  {r.end_to_end:>9.1f}s  {r.percentile(0.95) * 1000:>8.0f}ms"
              f"  {base.end_to_end / r.end_to_end if r.end_to_end else 0:>6.2f}x")
    best = max(results, key=lambda r: r.files_per_minute)
    full_files = 400
    minutes = full_files / best.files_per_minute if best.files_per_minute else float("inf")
    print(f"\nbest: {best.files_per_minute:.1f} files/minute with {best.workers} workers on {os.cpu_count()} CPUs. "
          f"At that rate 400 files of {args.pupils} pupils take ~{minutes:.1f} min "
          f"(target {TARGET_SECONDS / 60:.0f} min; population here {args.persons:,}).")


if __name__ == "__main__":
    sys.exit(main())
