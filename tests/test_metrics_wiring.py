"""/metrics on the real server: calls, faults, uploads and failed sign-ins are counted, a
request id comes back with every answer, and no label or value carries a username, a
pupil's name or UPN, or a file name."""
from __future__ import annotations

import re
import time
import urllib.request
from pathlib import Path

import pytest
import zeep
from prometheus_client.parser import text_string_to_metric_families

from server import running_server, wait_for, zeep_client
from service_setup import PASSWORD, ServiceEnv, file_header, student_file

FILE_NAME = "census-Quonsetworth-spring.xml"


@pytest.fixture
def env(tmp_path: Path, database_url: str):
    environment = ServiceEnv.create(tmp_path, database_url)
    environment.add_school("9994000", "sims.user.quonsetworth")
    yield environment
    environment.close()


def _samples(text: str, family: str) -> dict[tuple, float]:
    found = {}
    for metric in text_string_to_metric_families(text):
        for sample in metric.samples:
            if sample.name == family:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_metrics_count_calls_faults_uploads_and_hold_no_personal_data(env: ServiceEnv) -> None:
    data = student_file("9994000", pupils=12, seed=7)
    personal = {"sims.user.quonsetworth", "School 9994000", FILE_NAME, PASSWORD}
    for tag in ("Forename", "Surname", "UPN", "Postcode", "Email"):
        personal |= {v.decode() for v in re.findall(rb"<%s>([^<]{3,})</%s>" % (tag.encode(), tag.encode()), data)}
    with running_server(env.config_path) as srv:
        client = zeep_client(srv, "sims.user.quonsetworth", PASSWORD)
        client.service.GetServerInfo()
        client.service.UploadFile(header=file_header(client, data, name=FILE_NAME), content=data)
        with pytest.raises(zeep.exceptions.Fault):  # ChecksumMismatch
            client.service.UploadFile(header=file_header(client, data, name=FILE_NAME, sha256="0" * 64),
                                      content=data)
        with pytest.raises(zeep.exceptions.Fault):  # AuthenticationFailed
            zeep_client(srv, "sims.user.quonsetworth", "wrong password").service.GetServerInfo()
        with urllib.request.urlopen(srv.url + "/metrics", timeout=10) as response:
            assert response.headers["Content-Type"].startswith("text/plain")
            assert response.headers["X-Request-Id"] is None  # /metrics is answered before the SOAP front
            text = response.read().decode()
        with urllib.request.urlopen(srv.url + "/health", timeout=10) as response:
            assert re.fullmatch(r"[0-9a-f]{16}", response.headers["X-Request-Id"])
        log = srv.log()

    requests = _samples(text, "b2b_soap_requests_total")
    assert requests[(("operation", "GetServerInfo"),)] >= 2
    assert requests[(("operation", "UploadFile"),)] == 2
    faults = _samples(text, "b2b_soap_faults_total")
    assert faults[(("code", "ChecksumMismatch"), ("operation", "UploadFile"))] == 1
    assert faults[(("code", "AuthenticationFailed"), ("operation", "GetServerInfo"))] == 1
    assert _samples(text, "b2b_soap_upload_bytes_total")[(("data_type", "Student"),)] == 2 * len(data)
    assert _samples(text, "b2b_soap_login_failures_total")[(("channel", "soap"),)] == 1
    assert _samples(text, "b2b_soap_queue_depth")[()] == 1
    assert _samples(text, "b2b_soap_request_seconds_count")[(("operation", "UploadFile"),)] == 2

    leaked = [p for p in personal if p in text]
    assert not leaked, leaked
    assert PASSWORD not in log
    assert not [p for p in personal - {"sims.user.quonsetworth", "School 9994000"} if p in log]


def _metrics(srv) -> str:
    with urllib.request.urlopen(srv.url + "/metrics", timeout=10) as response:
        return response.read().decode()


def test_a_processed_file_adds_its_processing_time_to_the_histogram(tmp_path: Path, database_url: str) -> None:
    """The server's own worker processes an upload: the histogram holds one observation whose
    seconds are a duration (more than nothing, less than the whole upload-to-reading span)."""
    environment = ServiceEnv.create(tmp_path, database_url, processing={"enabled": True, "poll_seconds": 0.2})
    environment.add_school("9994000", "sims.user.quonsetworth")
    data = student_file("9994000", pupils=12, seed=7)
    key = (("data_type", "Student"), ("outcome", "ok"))
    try:
        with running_server(environment.config_path, background=True) as srv:
            client = zeep_client(srv, "sims.user.quonsetworth", PASSWORD)
            before = time.perf_counter()
            receipt = client.service.UploadFile(header=file_header(client, data, name=FILE_NAME), content=data)
            wait_for(lambda: client.service.GetFileStatus(receipt.FileId).Status == "Processed", 60,
                     "the server's worker to process the file")
            text = wait_for(lambda: (t := _metrics(srv)) and key in _samples(t, "b2b_soap_file_processing_seconds_count")
                            and t, 10, "the processing time on /metrics")
            span = time.perf_counter() - before
    finally:
        environment.close()
    assert _samples(text, "b2b_soap_file_processing_seconds_count")[key] == 1
    seconds = _samples(text, "b2b_soap_file_processing_seconds_sum")[key]
    assert 0 < seconds < span
