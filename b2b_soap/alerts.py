"""Alerts: named triggers recorded in the database, then delivered by SMTP outside the request.

``raise_alert`` only adds a row to the caller's transaction, so raising never blocks or fails
the request. A delivery loop (a thread in ``serve``, or ``b2b-soap alerts deliver``) sends
pending alerts to the trigger's recipients; a failed send is retried with exponential
back-off and the alert stays pending meanwhile, so nothing is lost. Without an SMTP host
(or without recipients) an alert is only written to the alert log: status ``logged``.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Callable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from .config import Settings
from .db import Alert, session_scope, utcnow

__all__ = ["ATTAINMENT_TASK_ALTERED", "FILE_REJECTED", "JOB_FAILED", "ACCOUNT_LOCKED", "UNMATCHED_WAITING",
           "TRIGGERS", "recipients_for", "raise_alert", "list_alerts", "deliver_pending",
           "start_alert_delivery"]

log = logging.getLogger(__name__)

ATTAINMENT_TASK_ALTERED = "B2B Attainment import task altered"
FILE_REJECTED = "B2B file rejected"
JOB_FAILED = "Maintenance job failed"
ACCOUNT_LOCKED = "Account locked"
UNMATCHED_WAITING = "Unmatched pupils waiting"
TRIGGERS = (ATTAINMENT_TASK_ALTERED, FILE_REJECTED, JOB_FAILED, ACCOUNT_LOCKED, UNMATCHED_WAITING)

MAX_RETRY_DELAY = timedelta(hours=6)
SMTP_TIMEOUT = 20


def recipients_for(settings: Settings, trigger: str) -> list[str]:
    """Addresses configured for ``trigger`` plus those under ``'*'``, each once."""
    configured = settings.alerts.recipients
    return list(dict.fromkeys(configured.get(trigger, []) + configured.get("*", [])))


def raise_alert(session: Session, settings: Settings, trigger: str, subject: str, body: str) -> Alert:
    """Record an alert in the caller's transaction; delivery happens later, outside the request."""
    recipients = recipients_for(settings, trigger)
    deliverable = bool(settings.alerts.smtp_host and recipients)
    alert = Alert(trigger=trigger[:80], subject=subject[:300], body=body, recipients=",".join(recipients),
                  status="pending" if deliverable else "logged", attempts=0, next_attempt_at=utcnow(),
                  last_error="" if deliverable else "no SMTP host or no recipients configured")
    session.add(alert)
    log.warning("alert %r: %s", trigger, subject)
    return alert


def list_alerts(session: Session, status: str | None = None, trigger: str | None = None,
                limit: int = 100) -> list[Alert]:
    query = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if status:
        query = query.where(Alert.status == status)
    if trigger:
        query = query.where(Alert.trigger == trigger)
    return list(session.scalars(query))


def _message(settings: Settings, alert: Alert) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.alerts.sender
    message["To"] = alert.recipients.replace(",", ", ")
    message["Subject"] = alert.subject
    message["X-B2B-Alert-Trigger"] = alert.trigger
    message.set_content(f"{alert.body}\n\nTrigger: {alert.trigger}\nRaised: {alert.created_at:%Y-%m-%d %H:%M:%S} UTC\n")
    return message


def _send(settings: Settings, alert: Alert) -> None:
    config = settings.alerts
    with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
        if config.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if config.username:
            smtp.login(config.username, config.password)
        smtp.send_message(_message(settings, alert), to_addrs=alert.recipients.split(","))


def _retry_delay(settings: Settings, attempts: int) -> timedelta:
    return min(timedelta(seconds=settings.alerts.retry_seconds * 2 ** (attempts - 1)), MAX_RETRY_DELAY)


def _deliver_one(session: Session, settings: Settings, alert: Alert, now: datetime) -> str:
    if not settings.alerts.smtp_host or not alert.recipients:
        alert.status, alert.last_error = "logged", "no SMTP host or no recipients configured"
        return "logged"
    try:
        _send(settings, alert)
    except (OSError, smtplib.SMTPException) as exc:
        alert.attempts += 1
        alert.next_attempt_at = now + _retry_delay(settings, alert.attempts)
        alert.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning("alert %s not delivered (attempt %s), retry at %s: %s", alert.id, alert.attempts,
                    alert.next_attempt_at, alert.last_error)
        return "deferred"
    alert.attempts += 1
    alert.status, alert.sent_at, alert.last_error = "sent", utcnow(), ""
    return "sent"


def deliver_pending(sessions: sessionmaker[Session], settings: Settings, now: datetime | None = None,
                    limit: int = 100) -> dict[str, int]:
    """Try every pending alert that is due; one transaction per alert. Returns counts by outcome.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so several workers never send one alert twice.
    """
    counts = {"sent": 0, "deferred": 0, "logged": 0}
    now = now or utcnow()
    for _ in range(limit):
        with session_scope(sessions) as session:
            alert = session.scalars(
                select(Alert).where(Alert.status == "pending",
                                    or_(Alert.next_attempt_at.is_(None), Alert.next_attempt_at <= now))
                .order_by(Alert.id).limit(1).with_for_update(skip_locked=True)).first()
            if alert is None:
                break
            counts[_deliver_one(session, settings, alert, now)] += 1
    return counts


def start_alert_delivery(ctx, interval: float = 10.0) -> Callable[[], None]:
    """Run ``deliver_pending`` every ``interval`` seconds in a daemon thread; returns a stopper."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                deliver_pending(ctx.sessions, ctx.settings)
            except Exception:  # the loop must outlive a database hiccup
                log.exception("alert delivery failed; retrying in %s s", interval)
            stop.wait(interval)

    thread = threading.Thread(target=loop, name="b2b-alert-delivery", daemon=True)
    thread.start()

    def stopper() -> None:
        stop.set()
        thread.join(timeout=SMTP_TIMEOUT + 5)

    return stopper
