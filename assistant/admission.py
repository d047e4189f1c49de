"""Admission control (pure ASGI middleware): who may start work, and how much work runs at once.

- A per-client rate limit: a token bucket per client address holding `Settings.rate_limit_per_minute` requests,
  refilled continuously; an empty bucket answers 429 with `Retry-After` (seconds until the next token). 0 = off.
- A concurrency limit: at most `Settings.max_concurrent` requests run; up to `Settings.max_queue` more wait (at
  most `Settings.max_queue_wait` seconds) for a slot; beyond that, 503 with `Retry-After`. 0 = off.
- Exempt paths (`/health`) skip both and are answered at once, never queued behind `/ask`.
Limits are per process: with `serve --workers N` each worker applies them to the requests it accepts.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.config import Settings

__all__ = ["Admission", "TokenBuckets"]

EXEMPT = frozenset({"/health"})
_MAX_CLIENTS = 10_000  # buckets kept; the fullest are forgotten first (a full bucket is the default anyway)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    """Per-client token buckets: `take(client)` returns 0 when a request may pass, else the seconds to wait."""

    def __init__(self, rate_per_minute: int) -> None:
        self.capacity = float(rate_per_minute)
        self.per_second = rate_per_minute / 60.0
        self._buckets: dict[str, _Bucket] = {}

    def take(self, client: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        b = self._buckets.get(client)
        if b is None:
            if len(self._buckets) >= _MAX_CLIENTS:
                self._forget(now)
            b = self._buckets[client] = _Bucket(self.capacity, now)
        b.tokens = min(self.capacity, b.tokens + (now - b.stamp) * self.per_second)
        b.stamp = now
        if b.tokens >= 1:
            b.tokens -= 1
            return 0.0
        return (1 - b.tokens) / self.per_second

    def _forget(self, now: float) -> None:
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.stamp) * self.per_second >= self.capacity
        ]
        for k in full or list(self._buckets)[: _MAX_CLIENTS // 10]:
            del self._buckets[k]


class Admission:
    """Rate limit per client (429) and a bounded queue in front of a concurrency limit (503)."""

    def __init__(self, app: ASGIApp, settings: Settings, exempt: frozenset[str] = EXEMPT) -> None:
        self.app = app
        rate = settings.rate_limit_per_minute
        self.buckets = TokenBuckets(rate) if rate > 0 else None
        self.max_concurrent, self.max_queue = settings.max_concurrent, settings.max_queue
        self.max_wait = settings.max_queue_wait
        self.exempt = exempt
        self.running = 0
        self.waiting = 0
        self._slots: asyncio.Semaphore | None = None  # made in the server's event loop, on first use

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            return await self.app(scope, receive, send)
        if self.buckets is not None:
            client = (scope.get("client") or ("unknown", 0))[0]
            wait = self.buckets.take(client)
            if wait > 0:
                return await _refuse(
                    send,
                    429,
                    wait,
                    f"rate limit: more than {int(self.buckets.capacity)} requests per minute from {client}; "
                    "retry after the number of seconds in Retry-After",
                )
        if self.max_concurrent <= 0:
            return await self.app(scope, receive, send)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrent)
        busy = f"server busy: {self.max_concurrent} requests running and {self.max_queue} waiting"
        if self._slots.locked() and self.waiting >= self.max_queue:
            return await _refuse(
                send, 503, 1.0, f"{busy} (the queue is full); retry after Retry-After seconds"
            )
        self.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self.max_wait)
        except TimeoutError:
            return await _refuse(
                send, 503, 1.0, f"{busy}; waited {self.max_wait:g} s for a slot, retry later"
            )
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.running -= 1
            self._slots.release()


async def _refuse(send: Send, status: int, retry_after: float, message: str) -> None:
    body = json.dumps({"detail": message, "message": message}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(max(1, math.ceil(retry_after))).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
