"""``serve --workers N``: three server processes on one PostgreSQL, concurrent uploads from
several bases, the queue worked by all three, one process SIGKILLed mid-run.

Shown: every receipted file ends ``Processed`` exactly once (its incoming records are its
pupils plus contacts, no duplicate), the queue is empty, no file is lost; the supervisor
restarts the killed process; ``/metrics`` sums over the processes; ``[processing]
concurrent_files`` bounds the files in flight, whatever the number of workers. SQLite refuses
``--workers`` above 1.
"""
from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, update

from b2b_soap.db import IncomingRecord, QueueEntry, VirtualFile, session_scope, utcnow
from server import ROOT, free_port, running_server, wait_for, zeep_client
from service_setup import PASSWORD, ServiceEnv, file_header, student_file

BASES = 6
FILES_PER_BASE = 5
PUPILS = 20
WORKERS = 3


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat from the state on: [0] state, [1] parent, [11] and [12] user and system CPU ticks."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _children(parent: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = _stat(int(entry.name))
            except OSError:
                continue
            if int(stat[1]) == parent:
                found.add(int(entry.name))
    return found


def _cpu_seconds(pid: int) -> float:
    stat = _stat(pid)
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")



def _start_workers(config: Path, port: int, workers: int, log: Path) -> subprocess.Popen:
    environ = {**os.environ, "B2B_SOAP_SERVER_HOST": "127.0.0.1", "B2B_SOAP_SERVER_PORT": str(port),
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "b2b_soap.commands.serve", "--config", str(config),
                                 "--workers", str(workers), "--stop-timeout", "20"], stdout=out, stderr=subprocess.STDOUT, env=environ,
                                cwd=ROOT)


class _Server:  # what zeep_client needs
    def __init__(self, url: str) -> None:
        self.url = url
        self.student_url = url + "/B2BStudent.svc"
        self.admin_url = url + "/B2BAdmin.svc"


def _upload_all(server: _Server, username: str, laestab: str, seeds: list[int], receipts: dict, errors: list,
                started: threading.Event) -> None:
    """Upload each file, retrying (same FileGuid: idempotent) when a process dies under the call."""
    try:
        client = wait_for(lambda: _client(server, username), 20, "a WSDL")
        for seed in seeds:
            data = student_file(laestab, PUPILS, seed=seed)
            guid = str(uuid.uuid4())
            for attempt in range(10):
                try:
                    receipt = client.service.UploadFile(header=file_header(client, data, guid=guid,
                                                                           name=f"census-{seed}.xml"),
                                                        content=data)
                    break
                except Exception as exc:  # connection reset by the killed process: send it again
                    if attempt == 9:
                        raise
                    errors.append(f"retry {guid}: {type(exc).__name__}")
                    time.sleep(0.2)
            receipts[guid] = (receipt.FileId if hasattr(receipt, "FileId") else None, data)
            started.set()
    except Exception as exc:  # reported by the test
        errors.append(f"FATAL {username}: {type(exc).__name__}: {exc}")


def _client(server: _Server, username: str):
    try:
        return zeep_client(server, username, PASSWORD, timeout=30)
    except Exception:
        return None


def test_three_processes_process_every_file_exactly_once(tmp_path: Path, postgres_url: str) -> None:
    env = ServiceEnv.create(tmp_path, postgres_url, processing={"enabled": True, "poll_seconds": 0.2},
                            server={"threads": 6, "max_concurrent_uploads": 8})
    bases = [(f"99940{i:02d}", env.add_school(f"99940{i:02d}")) for i in range(BASES)]
    port = free_port()
    log = tmp_path / "workers.log"
    parent = _start_workers(env.config_path, port, WORKERS, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _health(url), 30, "the server to answer")
        first = wait_for(lambda: (c := _children(parent.pid)) and len(c) == WORKERS and c, 20, "3 workers")
        receipts: dict[str, tuple] = {}
        errors: list[str] = []
        started = threading.Event()
        threads = [threading.Thread(target=_upload_all, args=(_Server(url), user, laestab,
                                                              list(range(n * 100, n * 100 + FILES_PER_BASE)),
                                                              receipts, errors, started))
                   for n, (laestab, user) in enumerate(bases)]
        for thread in threads:
            thread.start()

        # Kill one process while uploads are in flight and the queue is being worked.
        wait_for(lambda: len(receipts) >= 8, 40, "the first receipts")
        victim = random.Random(8).choice(sorted(first))
        os.kill(victim, signal.SIGKILL)
        # Its claim (if it held one) would be free again when the 10-minute lease runs out;
        # the test moves the clock instead of waiting.
        with session_scope(env.ctx.sessions) as session:
            session.execute(update(QueueEntry).where(QueueEntry.claimed_by.like(f"%:{victim}:%"))
                            .values(claimed_until=utcnow()))
        replaced = wait_for(lambda: (c := _children(parent.pid)) and len(c) == WORKERS and victim not in c and c,
                         20, "the supervisor to restart the killed worker")
        assert len(replaced & first) == WORKERS - 1

        for thread in threads:
            thread.join(60)
        assert not [e for e in errors if e.startswith("FATAL")], errors
        assert len(receipts) == BASES * FILES_PER_BASE

        def drained() -> bool:
            with session_scope(env.ctx.sessions) as session:
                queued = session.scalar(select(func.count()).select_from(QueueEntry))
                waiting = session.scalar(select(func.count()).select_from(VirtualFile)
                                         .where(VirtualFile.status != "Processed"))
            return queued == 0 and waiting == 0

        wait_for(drained, 40, "every file to be processed", interval=0.3)

        with session_scope(env.ctx.sessions) as session:
            files = {vf.file_guid: vf for vf in session.scalars(select(VirtualFile))}
            counts = dict(session.execute(select(IncomingRecord.file_id, func.count())
                                          .group_by(IncomingRecord.file_id)).all())
            distinct = dict(session.execute(select(IncomingRecord.file_id,
                                                   func.count(func.distinct(IncomingRecord.seq)))
                                            .group_by(IncomingRecord.file_id)).all())
            assert session.scalar(select(func.count()).select_from(QueueEntry)) == 0
        assert set(files) == set(receipts), "a receipted file is missing, or an unreceipted one exists"
        for guid, (_, data) in receipts.items():
            vf = files[guid]
            expected = data.count(b"<Pupil>") + data.count(b"<Contact>")
            assert vf.status == "Processed", (guid, vf.status, vf.failure)
            assert vf.pupil_count == PUPILS
            assert counts[vf.id] == expected == distinct[vf.id], (guid, counts.get(vf.id), expected)

        # /metrics of any process sums over all of them (the killed one included).
        families = {f.name: f for f in text_string_to_metric_families(_get(url + "/metrics").decode())}
        uploads = sum(s.value for s in families["b2b_soap_requests"].samples
                      if s.name == "b2b_soap_requests_total" and s.labels["operation"] == "UploadFile")
        assert uploads >= len(receipts)
        processed = sum(s.value for s in families["b2b_soap_file_processing_seconds"].samples
                        if s.name == "b2b_soap_file_processing_seconds_count")
        assert processed >= len(receipts)
        assert sum(s.value for s in families["b2b_soap_upload_bytes"].samples
                   if s.name == "b2b_soap_upload_bytes_total") >= sum(len(d) for _, d in receipts.values())

        # SIGTERM to the supervisor stops every worker.
        children = _children(parent.pid)
        parent.terminate()
        assert parent.wait(30) == 0
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()
                    and "zombie" not in (Path(f"/proc/{pid}/status").read_text())]
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        env.close()
    output = log.read_text(errors="replace")
    assert "restarting it" in output
    assert PASSWORD not in output


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def _health(url: str) -> bool:
    try:
        _get(url + "/health")
        return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def test_two_workers_restarted_after_a_delay_and_stopped_cleanly(tmp_path: Path, postgres_url: str) -> None:
    env = ServiceEnv.create(tmp_path, postgres_url)
    try:
        with running_server(env.config_path, workers=2) as srv:
            first = wait_for(lambda: (c := _children(srv.process.pid)) and len(c) == 2 and c, 20, "2 workers")
            assert "2 workers on 127.0.0.1" in srv.log()
            victim = min(first)
            os.kill(victim, signal.SIGKILL)  # right after its start: a fast failure
            replaced = wait_for(lambda: (c := _children(srv.process.pid)) and len(c) == 2 and victim not in c and c,
                                20, "the supervisor to restart the killed worker")
            for pid in replaced:  # each serving, so that each has its SIGTERM handling in place
                wait_for(lambda: f"threads, pid {pid})" in srv.log(), 20, f"worker pid {pid} to serve")
    finally:
        env.close()
    said = _said(srv.log())
    [ended] = [i for i, (_, message) in enumerate(said) if f"(pid {victim}) ended (signal 9)" in message]
    assert said[ended][1].endswith("restarting it in 1 s")
    restarted = next(at for at, message in said[ended:] if re.fullmatch(r"worker \d+ started .*", message))
    assert (restarted - said[ended][0]).total_seconds() >= 0.99
    stopping = [message for _, message in said[-3:]]
    assert stopping == ["stopped", "stopped", "all workers stopped"]  # none killed


def test_a_stuck_request_holds_up_a_stopping_worker_1_s_at_most(tmp_path: Path, postgres_url: str) -> None:
    """--stop-timeout 2: a worker gives up on its requests max(2 - 5, 1) s after SIGTERM, dumping its
    threads' stacks, before the supervisor would kill it; the supervisor waits without spinning."""
    env = ServiceEnv.create(tmp_path, postgres_url)
    try:
        with running_server(env.config_path, workers=2, stop_timeout=2) as srv:
            supervisor = srv.process.pid
            wait_for(lambda: len(_children(supervisor)) == 2, 20, "2 workers")
            port = int(srv.url.rsplit(":", 1)[1])
            stuck = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(4)]
            for sock in stuck:  # the body never comes: a request thread waits for it
                sock.sendall(b"POST /B2BStudent.svc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
                             b"Content-Length: 1000\r\n\r\n<s:Env")
            time.sleep(0.5)
            cpu = _cpu_seconds(supervisor)
            srv.process.terminate()
            wait_for(lambda: _stat(supervisor)[0] == "Z", 10, "the supervisor to end")
            cpu = _cpu_seconds(supervisor) - cpu
            for sock in stuck:
                sock.close()
    finally:
        env.close()
    log = srv.log()
    assert "most recent call first" in log and "did not stop" not in log
    assert any(message == "all workers stopped" for _, message in _said(log))
    assert cpu < 0.6, f"the supervisor used {cpu:.2f} s of CPU while its workers stopped"


def test_concurrent_files_bounds_the_files_processed_at_once(tmp_path: Path, postgres_url: str) -> None:
    """Three workers, one processing slot: never two files claimed at once, and every file processed."""
    env = ServiceEnv.create(tmp_path, postgres_url, processing={"enabled": True, "poll_seconds": 0.2,
                                                                "concurrent_files": 1})
    laestab, user = "9994100", env.add_school("9994100")
    in_flight: list[int] = []
    try:
        with running_server(env.config_path, workers=3, background=True) as srv:
            wait_for(lambda: len(_children(srv.process.pid)) == 3, 20, "3 workers")
            client = zeep_client(srv, user, PASSWORD, timeout=30)
            for seed in range(8):
                data = student_file(laestab, 150, seed=seed)
                client.service.UploadFile(header=file_header(client, data, name=f"census-{seed}.xml"), content=data)

            def drained() -> bool:
                with session_scope(env.ctx.sessions) as session:
                    in_flight.append(session.scalar(select(func.count()).select_from(QueueEntry).where(
                        QueueEntry.claimed_by != "", QueueEntry.claimed_until > utcnow())))
                    return session.scalar(select(func.count()).select_from(VirtualFile)
                                          .where(VirtualFile.status != "Processed")) == 0

            wait_for(drained, 120, "every file to be processed", interval=0.01)
    finally:
        env.close()
    assert max(in_flight) == 1, f"files claimed at once: {sorted(set(in_flight))}"


def _said(log: str) -> list[tuple[datetime, str]]:
    """The server log's lines: (time, message)."""
    return [(datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f"), line.split("] ", 1)[1])
            for line in log.splitlines() if " b2b_soap.server " in line]


def test_sqlite_refuses_several_workers(tmp_path: Path) -> None:
    config = tmp_path / "b2b-soap.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n')
    environ = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-m", "b2b_soap.commands.serve", "--config", str(config),
                             "--workers", "2"], capture_output=True, text=True, env=environ, cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert re.search(r"SQLite allows only one server\s+process", result.stderr), result.stderr
    assert "PostgreSQL" in result.stderr
