"""Memory and time a request may take: bombs, floods and slow clients do not exhaust the server."""
from __future__ import annotations

import gzip
import hashlib
import select
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import zeep.exceptions

from b2b_soap.config import ServerSettings
from server import RunningServer, http_post, running_server, wait_for, zeep_client
from service_setup import PASSWORD, TNS, ServiceEnv, fault_code
from test_service_hostile import BASIC, token as token_header

MB = 1024 * 1024


def peak_rss(server: RunningServer) -> int:
    """The server process's peak resident memory so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def test_multi_part_gzip_bomb_stops_at_the_file_cap(tmp_path: Path, database_url: str) -> None:
    env = ServiceEnv.create(tmp_path, database_url)
    env.add_school("9994000", "sims")
    cap = env.settings.storage.max_file_bytes
    bomb = gzip.compress(bytes(cap - 4096), compresslevel=9)  # ~20 KB that inflates to nearly the cap
    assert len(bomb) < 64 * 1024
    with running_server(env.config_path) as srv:
        client = zeep_client(srv, "sims", PASSWORD)
        header_type = client.get_type("{http://schemas.b2b-soap.org/student/2026/01}FileHeader")
        client.service.GetServerInfo()
        before = peak_rss(srv)
        guid, parts = str(uuid.uuid4()), 40

        def send(number: int):
            header = header_type(FileGuid=guid, DataType="Student", FileName="bomb.xml", TotalBytes=cap,
                                 Sha256=hashlib.sha256(b"x").hexdigest(), Compression="Gzip",
                                 PartNumber=number, PartCount=parts)
            return client.service.UploadFile(header=header, content=bomb)

        for number in range(1, parts):
            assert send(number).Status == "Receiving"
        try:
            send(parts)
            raise AssertionError("the last part of a bomb was accepted")
        except zeep.exceptions.Fault as fault:
            assert fault_code(fault, client) == "PayloadTooLarge"
        growth = peak_rss(srv) - before
        assert growth < 100 * MB, f"server peak memory grew by {growth // MB} MB"
        assert client.service.GetServerInfo().LaNumber == "999"
    env.close()


def _gzip_with_comment(data: bytes, comment_bytes: int) -> bytes:
    """A valid gzip member whose header carries a long comment (FCOMMENT): big on the wire, small inflated."""
    plain = gzip.compress(data, mtime=0)
    flagged = plain[:3] + bytes([plain[3] | 0x10]) + plain[4:10]
    return flagged + b"c" * comment_bytes + b"\x00" + plain[10:]


def test_parts_cannot_be_padded_past_what_the_file_can_take(tmp_path: Path, database_url: str) -> None:
    env = ServiceEnv.create(tmp_path, database_url, storage={"max_file_bytes": 64 * 1024})
    env.add_school("9994000", "sims")
    padded = _gzip_with_comment(b"<x/>", 60 * 1024)
    assert gzip.decompress(padded) == b"<x/>"
    with running_server(env.config_path) as srv:
        client = zeep_client(srv, "sims", PASSWORD)
        header_type = client.get_type("{http://schemas.b2b-soap.org/student/2026/01}FileHeader")
        guid = str(uuid.uuid4())
        codes = []
        for number in range(1, 5):
            header = header_type(FileGuid=guid, DataType="Student", FileName="padded.xml", TotalBytes=16,
                                 Sha256=hashlib.sha256(b"x").hexdigest(), Compression="Gzip",
                                 PartNumber=number, PartCount=4)
            try:
                codes.append(client.service.UploadFile(header=header, content=padded).Status)
            except zeep.exceptions.Fault as fault:
                codes.append(fault_code(fault, client))
        assert codes[0] == "Receiving" and "PayloadTooLarge" in codes
    env.close()


def _big_envelope(size: int, header: str = "") -> bytes:
    start = (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="{TNS}">'
             f"<s:Header>{header}</s:Header><s:Body><t:GetFileStatus><t:fileId>")
    end = "</t:fileId></t:GetFileStatus></s:Body></s:Envelope>"
    return (start + "a" * (size - len(start) - len(end)) + end).encode()


def test_unauthenticated_bodies_are_not_read_past_the_soap_header(tmp_path: Path, database_url: str) -> None:
    env = ServiceEnv.create(tmp_path, database_url)
    env.add_school("9994000", "sims")
    body = _big_envelope(8_000_000)
    with running_server(env.config_path) as srv:
        assert http_post(srv, _big_envelope(1000))[0] == 401
        before = peak_rss(srv)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: http_post(srv, body, timeout=60), range(8)))
        assert [status for status, _, _ in answers] == [401] * 8
        assert all(h["WWW-Authenticate"].startswith("Basic") for _, h, _ in answers)
        growth = peak_rss(srv) - before
        assert growth < 100 * MB, f"server peak memory grew by {growth // MB} MB"
        token = _big_envelope(1000, token_header())
        assert "no file" in http_post(srv, token)[2].decode()
        for padding, answer in ((60_000, "no file"), (70_000, "credentials needed")):  # looked for in 64 KiB
            padded = _big_envelope(1000, f'<x:Pad xmlns:x="urn:pad">{"a" * padding}</x:Pad>{token_header()}')
            assert answer in http_post(srv, padded)[2].decode()
    env.close()


def _slow_request(srv: RunningServer, length: int, extra_headers: str = "", first: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", int(srv.url.rsplit(":", 1)[1])), timeout=30)
    sock.sendall((f"POST /B2BStudent.svc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=utf-8\r\n"
                  f"Content-Length: {length}\r\n{extra_headers}\r\n").encode() + first)
    return sock


def _answered(sock: socket.socket) -> bytes | None:
    """The server's answer if it has sent one (or closed), else None."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return None
    try:
        return sock.recv(4096) or b"(closed)"
    except OSError:
        return b"(reset)"


def test_slow_clients_are_cut_off_and_health_still_answers(tmp_path: Path, database_url: str) -> None:
    env = ServiceEnv.create(tmp_path, database_url, server={"threads": ServerSettings().threads, "head_seconds": 2})
    with running_server(env.config_path) as srv:
        slow = [_slow_request(srv, 8_000_000, first=b"<") for _ in range(10)]
        answers: dict[int, bytes] = {}
        deadline = time.monotonic() + 60
        while len(answers) < len(slow) and time.monotonic() < deadline:
            for number, sock in enumerate(slow):
                if number in answers:
                    continue
                answer = _answered(sock)
                if answer is not None:
                    answers[number] = answer
                    continue
                try:
                    sock.sendall(b" ")  # one byte at a time: never idle long enough for a socket timeout
                except OSError:
                    answers[number] = b"(closed)"
            assert srv.health()["database"] is True  # urlopen with a 5 s timeout
            time.sleep(0.5)
        for sock in slow:
            sock.close()
        assert len(answers) == len(slow), "slow clients were never cut off"
        assert all(a.startswith(b"HTTP/1.1 408") or a in (b"(closed)", b"(reset)") for a in answers.values()), answers
        assert any(a.startswith(b"HTTP/1.1 408") for a in answers.values())
    env.close()


def test_bytes_in_flight_are_bounded_server_wide(tmp_path: Path, database_url: str) -> None:
    env = ServiceEnv.create(tmp_path, database_url, storage={"max_part_bytes": 100 * 1024},
                            server={"max_request_bytes": 256 * 1024, "max_body_bytes_in_flight": 256 * 1024,
                                    "upload_wait_seconds": 2, "min_bytes_per_second": 1})
    env.add_school("9994000", "sims")
    with running_server(env.config_path) as srv:
        held = _big_envelope(200 * 1024)  # authenticated; its first 1000 bytes arrive, the rest never does
        holder = _slow_request(srv, len(held), "Authorization: " + BASIC["Authorization"] + "\r\n", held[:1000])
        request = _big_envelope(100 * 1024)
        wait_for(lambda: "ServerBusy" in http_post(srv, request, headers=BASIC)[2].decode(), 20,
                 "ServerBusy while another body holds the budget")
        holder.close()
        wait_for(lambda: "no file" in http_post(srv, request, headers=BASIC)[2].decode(), 20,
                 "the budget to be free again")
    env.close()
