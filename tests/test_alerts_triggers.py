"""Each documented alert is raised where its event happens and its mail reaches a real SMTP server:
a rejected upload, the sign-in that locks an account, and unmatched pupils waiting (a job)."""
from __future__ import annotations

import json
from datetime import date

import pytest
import zeep

from b2b_soap import alerts
from b2b_soap.cli import main
from b2b_soap.db import Base, session_scope
from b2b_soap.processing import run_pending
from b2b_soap.review import import_file
from processing_support import pupil, transfer_bytes
from server import running_server, zeep_client
from service_setup import PASSWORD, ServiceEnv, fault_code, file_header, student_file
from smtp_support import free_smtp_port, smtp_server

OPS = "ops@la.example"


@pytest.fixture
def port():
    return free_smtp_port()


@pytest.fixture
def env(tmp_path, database_url, port):
    environment = ServiceEnv.create(
        tmp_path, database_url, security={"lockout_threshold": 3},
        alerts={"smtp_host": "127.0.0.1", "smtp_port": port, "sender": "b2b@la.example",
                "recipients": {"*": [OPS]}})
    yield environment
    environment.close()


def _deliver(env: ServiceEnv, capsys) -> list[dict]:
    """``b2b-soap alerts deliver``, then the alert log as ``alerts list --json`` shows it."""
    assert main(["--config", str(env.config_path), "alerts", "deliver"]) == 0
    capsys.readouterr()
    assert main(["--config", str(env.config_path), "--json", "alerts", "list"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_rejected_upload_mails_file_rejected(env, port, capsys):
    env.add_school("9994000", "sims")
    invalid = student_file(pupils=3).replace(b"<Surname>", b"<Nickname>", 1).replace(b"</Surname>",
                                                                                     b"</Nickname>", 1)
    with running_server(env.config_path) as srv:
        sims = zeep_client(srv, "sims", PASSWORD)
        accepted = sims.service.UploadFile(header=file_header(sims, student_file(pupils=3)),
                                           content=student_file(pupils=3))
        rejected = sims.service.UploadFile(header=file_header(sims, invalid, name="night.xml"), content=invalid)
    assert (accepted.Status, rejected.Status) == ("Received", "Received")
    assert {r.file_id: r.status for r in run_pending(env.ctx)} == {accepted.FileId: "Processed",
                                                                    rejected.FileId: "Rejected"}
    with smtp_server(port) as inbox:
        log = _deliver(env, capsys)
    [(rcpts, mail)] = inbox.messages
    assert rcpts == [OPS] and mail["X-B2B-Alert-Trigger"] == alerts.FILE_REJECTED
    assert mail["Subject"] == f"{alerts.FILE_REJECTED}: 9994000 night.xml"
    body = mail.get_content()
    assert rejected.FileId in body and "uploaded by the school" in body and "Nickname" in body
    assert [(a["trigger"], a["status"]) for a in log] == [(alerts.FILE_REJECTED, "sent")]


def test_the_sign_in_that_locks_an_account_mails_account_locked(env, port, capsys):
    env.add_school("9994000", "sims")
    with running_server(env.config_path) as srv:
        wrong = zeep_client(srv, "sims", "not the password")
        codes = []
        for _ in range(5):
            with pytest.raises(zeep.exceptions.Fault) as failed:
                wrong.service.GetServerInfo()
            codes.append(fault_code(failed.value, wrong))
    assert codes == ["AuthenticationFailed"] * 2 + ["AccountLocked"] * 3
    with smtp_server(port) as inbox:
        log = _deliver(env, capsys)
    assert inbox.triggers() == [alerts.ACCOUNT_LOCKED]  # one lockout, one alert
    mail = inbox.messages[0][1]
    assert mail["Subject"] == f"{alerts.ACCOUNT_LOCKED}: sims"
    assert "3 failures" in mail.get_content() and "b2b-soap user unlock sims" in mail.get_content()
    assert [(a["trigger"], a["status"]) for a in log] == [(alerts.ACCOUNT_LOCKED, "sent")]


def _unmatched(env: ServiceEnv, laestab: str, names: list[str]) -> None:
    with session_scope(env.ctx.sessions) as session:
        session.add(Base(laestab=laestab, name=f"School {laestab}", b2b_enabled=True))
    data = transfer_bytes([pupil(name, "Unknown", date(2015, 1, 1 + i)) for i, name in enumerate(names)], laestab)
    assert import_file(env.ctx, "officer", data, laestab, "night.xml")["status"] == "Received"


def test_unmatched_pupils_waiting_mails_one_alert_per_base(env, port, capsys):
    _unmatched(env, "9994001", ["Ada", "Ben", "Cai"])
    _unmatched(env, "9994002", ["Dee"])
    assert [r.status for r in run_pending(env.ctx)] == ["Processed", "Processed"]
    config = ["--config", str(env.config_path), "--json", "jobs", "run", "unmatched_waiting"]

    assert main(config) == 0  # default: waiting more than 24 hours; these came in just now
    assert json.loads(capsys.readouterr().out)["counts"] == {"bases": 0, "pupils": 0}
    assert main([*config, "--arg", "older_than_hours=0"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == {"bases": 2, "pupils": 4}
    with smtp_server(port) as inbox:
        log = _deliver(env, capsys)
    subjects = sorted(mail["Subject"] for _, mail in inbox.messages)
    assert subjects == [f"{alerts.UNMATCHED_WAITING}: 1 from 9994002", f"{alerts.UNMATCHED_WAITING}: 3 from 9994001"]
    assert inbox.triggers() == [alerts.UNMATCHED_WAITING] * 2
    assert "review unmatched --base 9994001" in "".join(mail.get_content() for _, mail in inbox.messages)
    assert {a["status"] for a in log} == {"sent"} and len(log) == 2
