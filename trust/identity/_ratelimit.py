"""Per-caller rate limits: a token bucket per API key, in this process."""

from __future__ import annotations

import math
import threading
import time

from tessera.metrics import RATE_LIMITED
from tessera.trust._errors import RateLimited

__all__ = ["RateLimiter"]


class RateLimiter:
    """A token bucket per API key: `burst` requests at once, then `per_second`."""

    def __init__(self, *, per_second: float, burst: int) -> None:
        self.per_second = per_second
        self.burst = burst
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
            if tokens < 1.0:
                RATE_LIMITED.inc()
                self._buckets[key] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / self.per_second)
                raise RateLimited(
                    f"rate limit of {self.per_second:g} requests/s exceeded",
                    retry_after=max(1, wait),
                )
            self._buckets[key] = (tokens - 1.0, now)
