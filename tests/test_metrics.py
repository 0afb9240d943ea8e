"""/metrics: Prometheus text that parses, carries every metric family, and never personal data."""
from __future__ import annotations

import uuid

from prometheus_client.parser import text_string_to_metric_families

from b2b_soap import metrics
from b2b_soap.db import Base, QueueEntry, VirtualFile, session_scope, utcnow

PERSONAL = ("Zebedee", "Quonsetworth", "A999400112001", "school.user", "census-Quonsetworth.xml")


def _scrape(ctx, method: str = "GET") -> tuple[str, dict, bytes]:
    answer = {}

    def start_response(status, headers):
        answer.update(status=status, headers=dict(headers))

    body = b"".join(metrics.metrics_app(ctx)({"REQUEST_METHOD": method}, start_response))
    return answer["status"], answer["headers"], body


def _queue_one(ctx) -> None:
    with session_scope(ctx.sessions) as session:
        base = Base(laestab="9995001", name="Metrics School", b2b_enabled=True)
        session.add(base)
        session.flush()
        file_id = str(uuid.uuid4())
        session.add(VirtualFile(id=file_id, file_guid=str(uuid.uuid4()), base_id=base.id, data_type="Student",
                                file_name="f.xml", total_bytes=1, sha256="0" * 64, status="Received"))
        session.flush()
        session.add(QueueEntry(file_id=file_id, enqueued_at=utcnow()))


def test_metrics_parse_and_hold_every_family(ctx):
    _queue_one(ctx)
    metrics.observe_request("UploadFile", 0.12)
    metrics.count_fault("UploadFile", "ChecksumMismatch")
    metrics.count_upload("Student", 2048)
    metrics.observe_processing("Student", 3.5)
    metrics.count_match_decision("auto", 40)
    metrics.count_job_run("delete-files", "ok")
    metrics.count_login_failure("soap")
    metrics.count_lockout("basic")
    status, headers, body = _scrape(ctx)
    assert status == "200 OK" and headers["Content-Type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    for name in ("b2b_soap_requests", "b2b_soap_request_seconds", "b2b_soap_faults", "b2b_soap_upload_bytes",
                 "b2b_soap_upload_part_bytes", "b2b_soap_file_processing_seconds", "b2b_soap_match_decisions",
                 "b2b_soap_job_runs", "b2b_soap_login_failures", "b2b_soap_lockouts", "b2b_soap_queue_depth",
                 "b2b_soap_queue_oldest_age_seconds"):
        assert name in families, name
    assert families["b2b_soap_queue_depth"].samples[0].value == 1
    faults = [s for s in families["b2b_soap_faults"].samples if s.name == "b2b_soap_faults_total"]
    assert {"operation": "UploadFile", "code": "ChecksumMismatch"} in [s.labels for s in faults]
    assert _scrape(ctx, "POST")[0].startswith("405")


def test_labels_never_carry_personal_data(ctx):
    metrics.observe_request("Zebedee Quonsetworth", 0.1)
    metrics.count_fault("A999400112001", "school.user is locked")
    metrics.count_upload("census-Quonsetworth.xml", 10)
    metrics.observe_processing("Student", 1.0, outcome="Zebedee")
    metrics.count_match_decision("A999400112001")
    metrics.count_job_run("census-Quonsetworth.xml job", "ok")
    metrics.count_login_failure("school.user")
    metrics.count_lockout("school.user")
    text = _scrape(ctx)[2].decode()
    assert not [p for p in PERSONAL if p in text]
    assert 'operation="other"' in text and 'code="other"' in text
