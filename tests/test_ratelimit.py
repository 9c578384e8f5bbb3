"""Token bucket: rates, bursts and hold-offs on a fake clock."""

from __future__ import annotations

import threading
import time

import pytest

from etl.ratelimit import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_first_request_immediate():
    clock = FakeClock()
    bucket = TokenBucket(2, clock=clock, sleep=clock.sleep)

    assert bucket.acquire() == 0


def test_requests_spaced_by_rate():
    clock = FakeClock()
    bucket = TokenBucket(4, clock=clock, sleep=clock.sleep)

    times = []
    for _ in range(9):
        bucket.acquire()
        times.append(clock.now)

    assert times[-1] == pytest.approx(2.0)
    assert all(later - earlier == pytest.approx(0.25) for earlier, later in zip(times, times[1:]))


def test_burst_allows_several_at_once():
    clock = FakeClock()
    bucket = TokenBucket(1, burst=3, clock=clock, sleep=clock.sleep)

    waits = [bucket.acquire() for _ in range(4)]

    assert waits[:3] == [0, 0, 0]
    assert waits[3] == pytest.approx(1.0)


def test_hold_off_delays_next_token():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)
    bucket.acquire()

    bucket.hold_off(2.0)
    bucket.acquire()

    assert clock.now == pytest.approx(2.0)


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_invalid_settings(rate, burst):
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)


def test_threads_never_exceed_rate():
    bucket = TokenBucket(50)
    stamps = []
    lock = threading.Lock()

    def worker():
        for _ in range(10):
            bucket.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stamps.sort()
    # 40 tokens at 50 per second with a burst of 1 take at least 39 intervals of 20 ms.
    assert stamps[-1] - stamps[0] >= 39 / 50 - 0.02
    for index in range(len(stamps) - 10):
        assert stamps[index + 10] - stamps[index] >= 10 / 50 - 0.02
