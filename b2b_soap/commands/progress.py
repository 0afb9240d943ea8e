"""Progress of long operations on stderr: a line updated in place on a terminal, otherwise a plain
line every few seconds and at the end of each stage (so logs of scripted runs stay short)."""
from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["StderrProgress"]


class StderrProgress:
    """Callable as ``progress(stage, done, total)``; ``total`` 0 means not known."""

    def __init__(self, stream: TextIO | None = None, interval: float = 5.0):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = 0.2 if self.tty else interval
        self.stage = ""
        self.last = 0.0
        self.finished: set[str] = set()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        finished = bool(total) and done >= total
        too_soon = stage == self.stage and not finished and now - self.last < self.interval
        if stage in self.finished or too_soon:
            return
        if finished:
            self.finished.add(stage)
        self.stage, self.last = stage, now
        if total:
            text = f"{stage}: {done:,}/{total:,} ({100 * done // total}%)"
        else:
            text = f"{stage}: {done:,}" if done else f"{stage}..."
        if self.tty:
            self.stream.write("\r\x1b[K" + text + ("\n" if finished else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
