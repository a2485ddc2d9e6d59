"""Who is calling: ``Authorization: Bearer KEY``, checked against the hashed keys, with a
per-key rate limit. ``VIDKG_API__OPEN=true`` serves everyone as an admin (local use).

Routes declare what they need with a ``Reader``, ``Ingester`` or ``Admin`` parameter.
The dependency answers 401 (no key, unknown or revoked key), 403 (the key lacks the
scope) or 429 (over the rate), as problem details.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from api.keys import KeyInfo, KeyStore, Scope
from api.problems import Problem

bearer = HTTPBearer(auto_error=False, description="An API key from `vidkg apikeys create`.")

OPEN_CALLER = KeyInfo(
    id=0,
    name="open (VIDKG_API__OPEN)",
    prefix="",
    scopes=frozenset(Scope),
    created_at=datetime(1970, 1, 1, tzinfo=UTC),
    last_used_at=None,
    revoked_at=None,
)


class RateLimiter:
    """A token bucket per caller: ``per_minute`` requests a minute, bursts up to that.

    Per process: with ``--workers N`` a key gets N times the rate at most, which is what
    a limit against runaway scripts needs (not a billing meter).
    """

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, caller: str) -> float:
        """0 when the request may go ahead (a token is taken), else seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(caller, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self._buckets[caller] = (tokens - 1.0, now)
                return 0.0
            self._buckets[caller] = (tokens, now)
            return (1.0 - tokens) / self.rate


def need(scope: Scope) -> Callable[..., KeyInfo]:
    """A dependency: the caller, who must hold ``scope``."""

    def caller(request: Request) -> KeyInfo:
        state = request.app.state
        if state.settings.api.open:
            who, name = OPEN_CALLER, f"ip:{request.client.host if request.client else '-'}"
        else:
            who = _key(request)
            name = f"key:{who.id}"
        if not who.allows(scope):
            raise Problem(403, f"this key lacks the '{scope}' scope")
        wait = state.limiter.wait_s(name)
        if wait > 0:
            raise Problem(
                429, f"rate limit: wait {wait:.1f} s", {"Retry-After": str(int(wait) + 1)}
            )
        request.state.caller = who
        return who

    return caller


KEY_COOKIE = "vidkg_key"


def _key(request: Request) -> KeyInfo:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="vidkg"'}
    if not header and request.method == "GET":
        # A browser's <video src> and <img src> cannot send headers: the web UI keeps the
        # key in a SameSite=Strict session cookie, honoured for GET (reads) only, so a
        # forged cross-site form can never change anything with it.
        scheme, secret = "bearer", request.cookies.get(KEY_COOKIE, "")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Problem(401, "an API key is required: Authorization: Bearer KEY", challenge)
    info = KeyStore(request.app.state.db.sessions).verify(secret.strip())
    if info is None:
        raise Problem(401, "unknown or revoked API key", challenge)
    return info


Reader = Annotated[KeyInfo, Depends(need(Scope.READ))]
Ingester = Annotated[KeyInfo, Depends(need(Scope.INGEST))]
Admin = Annotated[KeyInfo, Depends(need(Scope.ADMIN))]
