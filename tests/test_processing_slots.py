"""Processing slots across real forked processes: never more holders than slots, every slot used,
a slot freed when its holder is SIGKILLed, and a waiting worker let go when it is stopped."""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time

from b2b_soap.processing.slots import Slots

FORK = multiprocessing.get_context("fork")


def _hold(slots: Slots, start, intervals, seconds: float) -> None:
    start.wait()
    with slots.held(threading.Event()) as held:
        began = time.monotonic()
        time.sleep(seconds)
        intervals.put((held, began, time.monotonic()))


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(began, 1) for began, _ in intervals] + [(ended, -1) for _, ended in intervals])
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most


def test_no_more_files_in_flight_than_slots_and_every_slot_used() -> None:
    slots = Slots(2)
    start, intervals = FORK.Event(), FORK.Queue()
    holders = [FORK.Process(target=_hold, args=(slots, start, intervals, 0.4)) for _ in range(5)]
    try:
        for holder in holders:
            holder.start()
        start.set()
        got = [intervals.get(timeout=30) for _ in holders]
        for holder in holders:
            holder.join(10)
    finally:
        slots.remove()
    assert all(held for held, _, _ in got)
    assert _most_at_once([(began, ended) for _, began, ended in got]) == 2


def _hold_forever(slots: Slots, holding) -> None:
    with slots.held(threading.Event()):
        holding.set()
        time.sleep(600)


def test_a_killed_holder_frees_its_slot_and_a_stopped_waiter_gives_up() -> None:
    slots = Slots(1)
    holding = FORK.Event()
    holder = FORK.Process(target=_hold_forever, args=(slots, holding))
    holder.start()
    try:
        assert holding.wait(30)
        stop = threading.Event()
        threading.Timer(0.3, stop.set).start()
        with slots.held(stop) as held:
            assert held is False  # the one slot is taken: the waiter gives up when stopped
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(10)
        stop = threading.Event()
        threading.Timer(20, stop.set).start()
        with slots.held(stop) as held:
            assert held is True, "the killed holder's slot was not freed"
        stop.set()
    finally:
        if holder.is_alive():
            holder.kill()
        slots.remove()
    assert not os.path.exists(slots.directory)
