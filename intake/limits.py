"""Per-client rate limits, in memory (one service process; a restart forgets the counts).

A sliding window per key: at most `limit` events in the last `window_s` seconds. Keys are the
client address for requests and the recipient for confirmation mails. Behind a reverse proxy
every client has the proxy's address: run one limiter there instead (X-Forwarded-For is not
trusted here, since any client can set it).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one event for `key`; False (and not counted) when it is over the limit."""
        now = self._clock()
        with self._lock:
            if len(self._events) >= self._max_keys:
                self._drop_idle(now)
            events = self._events.setdefault(key, deque())
            while events and now - events[0] >= self.window_s:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True

    def retry_after(self, key: str) -> int:
        with self._lock:
            events = self._events.get(key)
            if not events:
                return 0
            return max(1, int(self.window_s - (self._clock() - events[0])) + 1)

    def _drop_idle(self, now: float) -> None:
        idle = [k for k, ev in self._events.items() if not ev or now - ev[-1] >= self.window_s]
        for k in idle:
            del self._events[k]
        if len(self._events) >= self._max_keys:  # a flood of distinct keys: forget the oldest half
            for k in list(self._events)[: self._max_keys // 2]:
                del self._events[k]


class AttemptCounter:
    """Wrong confirmation codes per form (nonce); the form is dead after `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def exhausted(self, key: str) -> bool:
        with self._lock:
            return self._failures.get(key, 0) >= self.limit

    def fail(self, key: str) -> None:
        with self._lock:
            if len(self._failures) > 100_000:
                self._failures.clear()
            self._failures[key] = self._failures.get(key, 0) + 1
