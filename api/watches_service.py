"""Watches as the API manages them: create (the secret shown once), list, get,
deactivate, and a watch's hits, paged. Matching and delivery are the indexer's
(``indexer.watches``): they run during ingest, not here.

Deleting a watch deactivates it: it stops matching, its undelivered hits are marked
failed, and it and its hits stay readable (an audit trail of what was sent where).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker


class UnknownVideos(ValueError):
    """A watch names videos the library does not hold."""


@dataclass(frozen=True)
class WatchInfo:
    watch_id: int
    name: str
    query: str
    sources: list[str]
    video_ids: list[int]
    webhook_url: str | None
    active: bool
    created_at: datetime
    hits: int


@dataclass(frozen=True)
class NewWatch:
    info: WatchInfo
    secret: str  # shown once


@dataclass(frozen=True)
class HitInfo:
    hit_id: int
    watch_id: int
    video_id: int
    file_name: str
    chunk_index: int
    start_s: float
    end_s: float
    source: str
    text: str
    created_at: datetime
    delivery: str
    attempts: int
    last_error: str | None
    delivered_at: datetime | None


_INSERT = text(
    "INSERT INTO watches (name, query, sources, video_ids, webhook_url, secret)"
    " VALUES (:name, :query, :sources, :video_ids, :webhook_url, :secret) RETURNING id"
)
_MISSING_VIDEOS = text(
    "SELECT array_agg(v ORDER BY v) FROM unnest(CAST(:ids AS bigint[])) v"
    " WHERE NOT EXISTS (SELECT FROM videos WHERE id = v)"
)
_ONE = text(
    "SELECT w.id AS watch_id, w.name, w.query, w.sources, w.video_ids, w.webhook_url,"
    " w.active, w.created_at,"
    " (SELECT count(*) FROM watch_hits h WHERE h.watch_id = w.id) AS hits"
    " FROM watches w WHERE w.id = :id"
)
_LIST = text(
    "SELECT w.id AS watch_id, w.name, w.query, w.sources, w.video_ids, w.webhook_url,"
    " w.active, w.created_at,"
    " (SELECT count(*) FROM watch_hits h WHERE h.watch_id = w.id) AS hits,"
    " count(*) OVER () AS total_rows"
    " FROM watches w WHERE (CAST(:active AS boolean) IS NULL OR w.active = :active)"
    " ORDER BY w.id LIMIT :limit OFFSET :offset"
)
_COUNT = text(
    "SELECT count(*) FROM watches WHERE (CAST(:active AS boolean) IS NULL OR active = :active)"
)
_DEACTIVATE = text("UPDATE watches SET active = false WHERE id = :id RETURNING id")
_DROP_PENDING = text(
    "UPDATE watch_hits SET delivery = 'failed', last_error = 'watch deleted'"
    " WHERE watch_id = :id AND delivery = 'pending'"
)
_HITS = text(
    "SELECT h.id AS hit_id, h.watch_id, h.video_id, v.file_name, h.chunk_index, h.start_s,"
    " h.end_s, h.source, h.text, h.created_at, h.delivery, h.attempts, h.last_error,"
    " h.delivered_at, count(*) OVER () AS total_rows"
    " FROM watch_hits h JOIN videos v ON v.id = h.video_id WHERE h.watch_id = :id"
    " ORDER BY h.video_id, h.start_s, h.source LIMIT :limit OFFSET :offset"
)
_HIT_COUNT = text("SELECT count(*) FROM watch_hits WHERE watch_id = :id")


def create_watch(
    sessions: sessionmaker[Session],
    *,
    query: str,
    sources: list[str],
    name: str | None = None,
    video_ids: list[int] | None = None,
    webhook_url: str | None = None,
    secret: str | None = None,
) -> NewWatch:
    """Store an active watch; its secret is generated unless given (returned once)."""
    key = secret or secrets.token_urlsafe(32)
    params = {
        "name": name or query,
        "query": query,
        "sources": sources,
        "video_ids": video_ids or [],
        "webhook_url": webhook_url,
        "secret": key,
    }
    with sessions.begin() as s:
        if video_ids:
            missing = s.execute(_MISSING_VIDEOS, {"ids": video_ids}).scalar_one()
            if missing:
                raise UnknownVideos(f"no video {', '.join(map(str, missing))}")
        watch_id = s.execute(_INSERT, params).scalar_one()
        row = s.execute(_ONE, {"id": watch_id}).mappings().one()
    return NewWatch(WatchInfo(**row), key)


def get_watch(sessions: sessionmaker[Session], watch_id: int) -> WatchInfo | None:
    with sessions() as s:
        row = s.execute(_ONE, {"id": watch_id}).mappings().one_or_none()
    return None if row is None else WatchInfo(**row)


def list_watches(
    sessions: sessionmaker[Session], *, active: bool | None, limit: int, offset: int
) -> tuple[list[WatchInfo], int]:
    """A page of watches (by id) and how many match in all."""
    params = {"active": active, "limit": limit, "offset": offset}
    with sessions() as s:
        rows = [dict(r) for r in s.execute(_LIST, params).mappings()]
        total = rows[0]["total_rows"] if rows else s.execute(_COUNT, params).scalar_one()
    return [WatchInfo(**{k: v for k, v in r.items() if k != "total_rows"}) for r in rows], total


def deactivate_watch(sessions: sessionmaker[Session], watch_id: int) -> bool:
    """Stop matching and drop undelivered hits; False: no such watch."""
    with sessions.begin() as s:
        if s.execute(_DEACTIVATE, {"id": watch_id}).scalar_one_or_none() is None:
            return False
        s.execute(_DROP_PENDING, {"id": watch_id})
    return True


def list_hits(
    sessions: sessionmaker[Session], watch_id: int, *, limit: int, offset: int
) -> tuple[list[HitInfo], int]:
    """A page of a watch's hits (by video and time) and how many it has."""
    params = {"id": watch_id, "limit": limit, "offset": offset}
    with sessions() as s:
        rows = [dict(r) for r in s.execute(_HITS, params).mappings()]
        total = rows[0]["total_rows"] if rows else s.execute(_HIT_COUNT, params).scalar_one()
    return [HitInfo(**{k: v for k, v in r.items() if k != "total_rows"}) for r in rows], total
