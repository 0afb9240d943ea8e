"""Alerts delivered to a real SMTP server on 127.0.0.1; a server that is down delays but loses nothing."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from b2b_soap import alerts
from b2b_soap.config import settings_from_dict
from b2b_soap.context import AppContext
from b2b_soap.db import Alert, session_scope, utcnow
from smtp_support import free_smtp_port, smtp_server


@pytest.fixture
def port():
    return free_smtp_port()


@pytest.fixture
def alert_ctx(tmp_path, database_url, port):
    recipients = {alerts.ATTAINMENT_TASK_ALTERED: ["data@la.example"], "*": ["ops@la.example"]}
    settings = settings_from_dict({"data_dir": str(tmp_path), "database": {"url": database_url},
                                   "alerts": {"smtp_host": "127.0.0.1", "smtp_port": port, "retry_seconds": 30,
                                              "sender": "b2b@la.example", "recipients": recipients}},
                                  environ={})
    ctx = AppContext(settings)
    yield ctx
    ctx.close()


@pytest.fixture
def smtp(port):
    with smtp_server(port) as inbox:
        yield inbox


def _raise(ctx, trigger=alerts.ATTAINMENT_TASK_ALTERED) -> int:
    with session_scope(ctx.sessions) as s:
        alert = alerts.raise_alert(s, ctx.settings, trigger, "Task 12 at 9991001 changed", "NC years now 6")
        s.flush()
        assert alert.status == "pending"
        return alert.id


def test_alert_is_delivered_to_the_triggers_recipients(alert_ctx, smtp):
    alert_id = _raise(alert_ctx)
    assert alerts.deliver_pending(alert_ctx.sessions, alert_ctx.settings) == {"sent": 1, "deferred": 0, "logged": 0}
    (rcpts, message), = smtp.messages
    assert rcpts == ["data@la.example", "ops@la.example"]
    assert message["Subject"] == "Task 12 at 9991001 changed"
    assert message["From"] == "b2b@la.example"
    assert message["X-B2B-Alert-Trigger"] == alerts.ATTAINMENT_TASK_ALTERED
    assert "NC years now 6" in message.get_content()
    with alert_ctx.sessions() as s:
        alert = s.get(Alert, alert_id)
        assert (alert.status, alert.attempts) == ("sent", 1) and alert.sent_at


def test_server_down_delays_delivery_but_loses_nothing(alert_ctx, port):
    alert_id = _raise(alert_ctx, alerts.FILE_REJECTED)
    now = utcnow()
    assert alerts.deliver_pending(alert_ctx.sessions, alert_ctx.settings, now)["deferred"] == 1
    with alert_ctx.sessions() as s:
        alert = s.get(Alert, alert_id)
        assert (alert.status, alert.attempts) == ("pending", 1) and "Connection" in alert.last_error
        assert alert.next_attempt_at == now + timedelta(seconds=30)
    assert alerts.deliver_pending(alert_ctx.sessions, alert_ctx.settings, now)["deferred"] == 0  # not due yet
    later = now + timedelta(seconds=31)
    alerts.deliver_pending(alert_ctx.sessions, alert_ctx.settings, later)
    with alert_ctx.sessions() as s:
        assert s.get(Alert, alert_id).next_attempt_at == later + timedelta(seconds=60)  # back-off doubles

    with smtp_server(port) as inbox:
        result = alerts.deliver_pending(alert_ctx.sessions, alert_ctx.settings, later + timedelta(seconds=61))
    assert result["sent"] == 1
    (rcpts, message), = inbox.messages
    assert rcpts == ["ops@la.example"] and message["Subject"] == "Task 12 at 9991001 changed"
    with alert_ctx.sessions() as s:
        assert (s.get(Alert, alert_id).status, s.get(Alert, alert_id).attempts) == ("sent", 3)


def test_delivery_loop_sends_in_the_background(alert_ctx, smtp):
    stop = alerts.start_alert_delivery(alert_ctx, interval=0.05)
    try:
        _raise(alert_ctx)
        deadline = time.monotonic() + 10
        while not smtp.messages and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop()
    assert len(smtp.messages) == 1


def test_without_smtp_host_an_alert_is_only_logged(settings, ctx):
    with session_scope(ctx.sessions) as s:
        alert = alerts.raise_alert(s, settings, alerts.ACCOUNT_LOCKED, "school1 locked", "5 failures")
    assert alert.status == "logged"
    with ctx.sessions() as s:
        assert [a.trigger for a in alerts.list_alerts(s)] == [alerts.ACCOUNT_LOCKED]
        assert alerts.list_alerts(s, status="pending") == []


def test_deliver_command_sends_what_is_pending(alert_ctx, smtp, port, tmp_path, capsys):
    from b2b_soap.cli import main

    config = tmp_path / "b2b-soap.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[database]\nurl = "{alert_ctx.settings.database_url}"\n'
                      f'[alerts]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsender = "b2b@la.example"\n'
                      'recipients = {"*" = ["ops@la.example"]}\n')
    with session_scope(alert_ctx.sessions) as session:
        alerts.raise_alert(session, alert_ctx.settings, alerts.JOB_FAILED, "Job nightly failed", "see log")
    capsys.readouterr()
    assert main(["--config", str(config), "--json", "alerts", "deliver"]) == 0
    assert json.loads(capsys.readouterr().out) == {"sent": 1, "deferred": 0, "logged": 0}
    [(recipients, message)] = smtp.messages
    assert recipients == ["ops@la.example"] and "Job nightly failed" in message["Subject"]
    with session_scope(alert_ctx.sessions) as session:
        assert session.scalar(select(Alert.status)) == "sent"
    assert main(["--config", str(config), "alerts", "deliver"]) == 0
    assert "sent" in capsys.readouterr().out and len(smtp.messages) == 1
