"""Processing slots: at most N files processed at once by the workers one ``--workers`` parent forks.

More files in flight than the host has cores only makes each slower (and PostgreSQL with them),
so a worker holds a slot while it claims and processes a file. A slot is an ``flock`` on a file
the parent created: the kernel releases it when its holder dies, even by SIGKILL, so a killed
worker never takes a slot with it.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["Slots", "cores"]


def cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Slots:
    """``count`` slots shared by this process and the processes it forks afterwards."""

    def __init__(self, count: int, poll_seconds: float = 0.05) -> None:
        self.count = count
        self.poll_seconds = poll_seconds
        self.directory = tempfile.mkdtemp(prefix="b2b-soap-slots-")
        self.paths = [os.path.join(self.directory, str(slot)) for slot in range(count)]
        for path in self.paths:
            open(path, "wb").close()
        self._owner = os.getpid()
        self._opened: tuple[int, list[int]] | None = None

    def _descriptors(self) -> list[int]:
        # Opened in each process after the fork: descriptors inherited across it would share their locks.
        pid = os.getpid()
        if self._opened is None or self._opened[0] != pid:
            self._opened = (pid, [os.open(path, os.O_RDWR) for path in self.paths])
        return self._opened[1]

    def _take(self) -> int | None:
        for fd in self._descriptors():
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                continue
        return None

    @contextmanager
    def held(self, stop: threading.Event) -> Iterator[bool]:
        """Hold a slot for the block (True), waiting for one; False if ``stop`` is set first."""
        fd = self._take()
        while fd is None:
            if stop.wait(self.poll_seconds):
                yield False
                return
            fd = self._take()
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def remove(self) -> None:
        """Delete the slot files (the creating process, once every holder has gone)."""
        if os.getpid() == self._owner:
            shutil.rmtree(self.directory, ignore_errors=True)
