"""Memory and time a request may take: bombs, floods and slow clients do not exhaust the server."""
from __future__ import annotations

import gzip
import hashlib
import uuid
from pathlib import Path

import zeep.exceptions

from server import RunningServer, running_server, zeep_client
from service_setup import PASSWORD, ServiceEnv, fault_code

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
