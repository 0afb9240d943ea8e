"""SIGKILL during a batch of uploads: receipted uploads are complete, the rest absent or re-uploadable."""
from __future__ import annotations

import gzip
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import select

from b2b_soap.db import FilePart, QueueEntry, VirtualFile, session_scope
from b2b_soap.files import read_content
from server import running_server, start_server, zeep_client
from service_setup import PASSWORD, ServiceEnv, file_header, student_file

UPLOADS, PARTS = 12, 2


def _upload(client, data: bytes, guid: str, multi: bool):
    if not multi:
        return client.service.UploadFile(header=file_header(client, data, guid=guid, compression="Gzip"),
                                         content=gzip.compress(data))
    half = len(data) // 2
    receipt = None
    for number, chunk in ((1, data[:half]), (2, data[half:])):
        receipt = client.service.UploadFile(header=file_header(client, data, guid=guid, part=number, parts=PARTS),
                                            content=chunk)
    return receipt


def test_sigkill_during_uploads(tmp_path: Path, database_url: str) -> None:
    env = ServiceEnv.create(tmp_path, database_url, server={"max_concurrent_uploads": 8})
    env.add_school("9994000", "sims")
    files = {str(uuid.uuid4()): student_file(pupils=80, seed=i) for i in range(UPLOADS)}
    receipted: dict[str, str] = {}
    srv = start_server(env.config_path)
    try:
        def worker(guids: list[str]) -> None:
            client = zeep_client(srv, "sims", PASSWORD, timeout=20)
            for n, guid in enumerate(guids):
                try:
                    receipt = _upload(client, files[guid], guid, multi=n % 2 == 1)
                except Exception:  # the server died under us
                    return
                if receipt.Status == "Received":
                    receipted[guid] = receipt.FileId

        guids = list(files)
        threads = [threading.Thread(target=worker, args=(guids[i::4],)) for i in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(receipted) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        srv.kill()
        for thread in threads:
            thread.join(30)
    finally:
        srv.stop()
    assert 4 <= len(receipted) < UPLOADS, "the kill should land in the middle of the batch"

    with session_scope(env.ctx.sessions) as session:
        stored = {vf.file_guid: vf for vf in session.scalars(select(VirtualFile))}
        queue = set(session.scalars(select(QueueEntry.file_id)))
        parts = list(session.scalars(select(FilePart)))
        for guid, file_id in receipted.items():
            vf = stored[guid]
            assert vf.id == file_id and vf.status == "Received" and file_id in queue
            assert read_content(env.ctx.keyring, vf) == files[guid]
        by_id = {vf.id: vf for vf in stored.values()}
        assert all(by_id[f].status == "Received" for f in queue)  # no queue row without its complete file
        assert all(by_id[p.file_id].status == "Receiving" for p in parts)  # parts only of unfinished files
        for vf in stored.values():
            assert vf.status in ("Received", "Receiving")
            if vf.status == "Receiving":
                assert vf.content is None and vf.parts_received == len([p for p in parts if p.file_id == vf.id])

    with running_server(env.config_path) as again:  # everything can be sent again after the restart
        client = zeep_client(again, "sims", PASSWORD)
        for index, (guid, data) in enumerate(files.items()):
            receipt = _upload(client, data, guid, multi=index // 4 % 2 == 1)  # as the worker sent it
            if guid in receipted:
                assert receipt.IsDuplicate and receipt.FileId == receipted[guid]
            assert receipt.Status == "Received"
    with session_scope(env.ctx.sessions) as session:
        assert len(list(session.scalars(select(VirtualFile)))) == UPLOADS
        assert not list(session.scalars(select(FilePart)))
    env.close()
