"""Webhooks of watches: send each stored hit to its watch's URL, signed, at least once.

Delivery is at least once, off the ingest thread: matching kicks one background thread
per process, which sends every ``pending`` hit. A session advisory lock per hit keeps
two processes from sending the same hit at once; a process that dies mid-delivery
drops its lock and leaves the hit ``pending`` for the next sweep (``deliver_pending``,
run after every match and callable from a worker or ``vidkg serve``). Receivers should
dedupe on ``X-Vidkg-Delivery`` (the hit id).

Security: anyone holding the ingest scope chooses the URL this server calls (SSRF).
Only http(s) is sent; link-local, multicast and unspecified addresses (169.254.169.254,
the cloud metadata service, among them) are refused when the watch is created and again
after DNS resolution at each delivery; redirects are never followed. Loopback and private
networks are allowed (webhook receivers often live there): put an egress proxy or a
firewall in front of the server where that matters.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Connection

from vidkg.db import Database
from vidkg.settings import Settings

log = logging.getLogger(__name__)


# ---- webhook URLs ----------------------------------------------------------------------


def _refused_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_link_local or ip.is_multicast or ip.is_unspecified


def _numeric_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as an address if it is one in any spelling the resolver accepts
    (``169.254.169.254``, ``2852039166``, ``0xa9fea9fe``); no DNS lookup."""
    try:
        info = socket.getaddrinfo(host.split("%")[0], None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    return ipaddress.ip_address(info[0][4][0].split("%")[0])


def webhook_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook (scheme, host, a refused address), else None.
    Host names are resolved and checked again at each delivery."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        return f"not a URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return "only http and https webhooks are allowed"
    if not parts.hostname:
        return "the URL has no host"
    if parts.username or parts.password:
        return "credentials in the URL are not allowed (the request is signed instead)"
    ip = _numeric_ip(parts.hostname)
    if ip is not None and _refused_ip(ip):
        return f"address {ip} is refused (link-local, multicast or unspecified)"
    return None


def _resolved_problem(url: str) -> str | None:
    """Resolve the URL's host now: refused if any address it has is refused."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for *_, addr in socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP):
        ip = ipaddress.ip_address(str(addr[0]).split("%")[0])
        if _refused_ip(ip):
            return f"{parts.hostname} resolves to refused address {ip}"
    return None


# ---- delivery --------------------------------------------------------------------------


@dataclass(frozen=True)
class HitPayload:
    """The JSON body a webhook receives (one hit)."""

    watch_id: int
    watch_name: str
    hit_id: int
    video_id: int
    file_name: str
    start_s: float
    end_s: float
    source: str
    text: str
    query: str

    def body(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    busy: int = 0  # being sent by another process


def signature(secret: str, body: bytes) -> str:
    """The ``X-Vidkg-Signature`` header: HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


_PENDING = text(
    "SELECT h.id FROM watch_hits h JOIN watches w ON w.id = h.watch_id"
    " WHERE h.delivery = 'pending' AND w.active AND h.id > :after ORDER BY h.id LIMIT 100"
)
_LOCK = text("SELECT pg_try_advisory_lock(hashtextextended('vidkg:webhook:' || :id, 0))")
_UNLOCK = text("SELECT pg_advisory_unlock(hashtextextended('vidkg:webhook:' || :id, 0))")
_LOAD = text(
    "SELECT h.id AS hit_id, h.watch_id, w.name AS watch_name, w.query, w.webhook_url,"
    " w.secret, h.video_id, v.file_name, h.start_s, h.end_s, h.source, h.text, h.attempts"
    " FROM watch_hits h JOIN watches w ON w.id = h.watch_id JOIN videos v ON v.id = h.video_id"
    " WHERE h.id = :id AND h.delivery = 'pending' AND w.active AND w.webhook_url IS NOT NULL"
)
_RECORD = text(
    "UPDATE watch_hits SET attempts = attempts + CAST(:tried AS int), delivery = :state,"
    " last_error = COALESCE(CAST(:error AS text), last_error),"
    " delivered_at = CASE WHEN CAST(:state AS text) = 'delivered' THEN now()"
    " ELSE delivered_at END"
    " WHERE id = :id"
)


def deliver_pending(
    db: Database, settings: Settings, *, sleep: Callable[[float], None] = time.sleep
) -> DeliveryReport:
    """Send every hit pending now, one at a time, each with its retries; returns what
    became of them. Safe to run in several processes at once."""
    delivered = failed = busy = 0
    after = 0
    timeout = settings.api.webhook_timeout_s
    with httpx.Client(timeout=timeout, follow_redirects=False) as client, db.engine.connect() as c:
        while ids := list(c.execute(_PENDING, {"after": after}).scalars()):
            c.commit()
            for hit_id in ids:
                state = _deliver_locked(c, client, hit_id, settings.api.webhook_retries, sleep)
                delivered += state == "delivered"
                failed += state == "failed"
                busy += state == "busy"
            after = ids[-1]
    return DeliveryReport(delivered, failed, busy)


def _deliver_locked(
    c: Connection, client: httpx.Client, hit_id: int, retries: int, sleep: Callable[[float], None]
) -> str:
    got = c.execute(_LOCK, {"id": hit_id}).scalar_one()
    c.commit()
    if not got:
        return "busy"
    try:
        row = c.execute(_LOAD, {"id": hit_id}).mappings().one_or_none()
        c.commit()
        if row is None:  # sent meanwhile by another process, or its watch was deleted
            return "gone"
        return _deliver(c, client, dict(row), retries, sleep)
    finally:
        c.rollback()  # after an error the transaction is aborted; the lock is the session's
        c.execute(_UNLOCK, {"id": hit_id})
        c.commit()


def _deliver(
    c: Connection,
    client: httpx.Client,
    row: dict[str, Any],
    retries: int,
    sleep: Callable[[float], None],
) -> str:
    """Attempts left from this hit's budget (1 + retries, kept across processes), with
    backoff 1, 2, 4... s; each attempt is recorded as it ends."""
    url, secret, done = row.pop("webhook_url"), row.pop("secret"), row.pop("attempts")
    payload = HitPayload(**row)
    body = payload.body()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "vidkg-webhook/1",
        "X-Vidkg-Signature": signature(secret, body),
        "X-Vidkg-Watch": str(payload.watch_id),
        "X-Vidkg-Delivery": str(payload.hit_id),
    }
    for attempt in range(done, retries + 1):
        if attempt > done:  # a hit taken over from a dead process goes at once
            sleep(2.0 ** (attempt - 1))
        ok, again, error = _post(client, url, body, headers)
        last = ok or not again or attempt == retries
        state = "delivered" if ok else ("failed" if last else "pending")
        c.execute(_RECORD, {"id": payload.hit_id, "tried": 1, "state": state, "error": error})
        c.commit()
        if last:
            if not ok:
                log.warning(
                    "watch %s: webhook gave up on hit %s: %s",
                    payload.watch_id,
                    payload.hit_id,
                    error,
                )
            return state
    c.execute(_RECORD, {"id": payload.hit_id, "tried": 0, "state": "failed", "error": None})
    c.commit()
    return "failed"  # the budget was spent before this process took the hit


def _post(
    client: httpx.Client, url: str, body: bytes, headers: dict[str, str]
) -> tuple[bool, bool, str | None]:
    """(delivered, worth retrying, error) of one POST."""
    try:
        refused = _resolved_problem(url)
    except OSError as exc:  # DNS down or the name not there (yet): retried
        return False, True, f"cannot resolve: {exc}"
    except (UnicodeError, ValueError) as exc:  # a host name no resolver takes
        return False, False, f"bad host: {exc}"
    if refused:
        return False, False, refused
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.TransportError as exc:  # refused, reset, timed out
        return False, True, f"{type(exc).__name__}: {exc}"[:500]
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return False, False, f"{type(exc).__name__}: {exc}"[:500]
    status = response.status_code
    if 200 <= status < 300:
        return True, False, None
    return False, status >= 500 or status == 429, f"HTTP {status}"


class Sweeper:
    """One background thread per process that runs :func:`deliver_pending` when kicked,
    so a slow or failing webhook never holds up the ingest that found the hit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: dict[int, tuple[Database, Settings]] = {}
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()

    def kick(self, db: Database, settings: Settings) -> None:
        with self._lock:
            self._queued[id(db.engine)] = (db, settings)
            self._idle.clear()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="vidkg-webhooks", daemon=True
                )
                self._thread.start()

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until every kick so far has been swept; False on timeout."""
        return self._idle.wait(timeout_s)

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._queued:
                    self._thread = None
                    self._idle.set()
                    return
                _, (db, settings) = self._queued.popitem()
            try:
                deliver_pending(db, settings)
            except Exception:  # noqa: BLE001 - the next kick sweeps again
                log.warning("watches: webhook sweep failed", exc_info=True)


SWEEPER = Sweeper()
