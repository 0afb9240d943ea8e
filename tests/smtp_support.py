"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for alert tests."""
from __future__ import annotations

import email
import socket
from contextlib import contextmanager
from email import policy
from typing import Iterator

from aiosmtpd.controller import Controller

__all__ = ["Inbox", "free_smtp_port", "smtp_server"]


class Inbox:
    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def triggers(self) -> list[str]:
        return [message["X-B2B-Alert-Trigger"] for _, message in self.messages]


def free_smtp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server(port: int) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
