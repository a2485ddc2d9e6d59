"""Watches during ingest: match each newly stored chunk against the standing queries,
store what matched once, and send it to the watch's webhook, signed.

Matching is plain SQL over the rows a unit just wrote for its chunk (the indexer never
imports the API or retrieval): full text with ``websearch_to_tsquery`` (``english`` for
speech, captions and object labels; ``simple`` for on-screen text, as written), plus
pg_trgm ``word_similarity`` for on-screen text, which OCR misreads. A hit is one row per
(watch, video, source, start second); ``ON CONFLICT DO NOTHING`` makes re-running a chunk
add nothing. Matching never fails the ingest: a broken watch is a warning in the log.

Delivery of the hits to webhooks: ``indexer.webhooks``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import text

from indexer.plan import Chunk
from indexer.webhooks import SWEEPER
from vidkg.db import Database
from vidkg.settings import Settings

log = logging.getLogger(__name__)

# Source names are retrieval.types.Source values, kept as strings (no import of retrieval).
SOURCE_OF_STAGE = {"asr": "speech", "ocr": "text", "detect": "object", "caption": "caption"}
SOURCES = ("speech", "text", "object", "caption")

# ---- matching ------------------------------------------------------------------------

_MATCH = {
    "speech": text(
        "INSERT INTO watch_hits (watch_id, video_id, chunk_index, start_s, end_s, source, text,"
        " delivery)"
        " SELECT w.id, t.video_id, :chunk, t.start_s, max(t.end_s), 'speech',"
        " string_agg(t.text, ' ' ORDER BY t.id),"
        " CASE WHEN w.webhook_url IS NULL THEN 'none' ELSE 'pending' END"
        " FROM watches w JOIN speech_segments t"
        " ON t.video_id = :video AND t.start_s >= :a AND t.start_s < :b"
        " WHERE w.active AND 'speech' = ANY(w.sources)"
        " AND vidkg_in_scope(t.video_id, t.start_s, t.end_s, w.video_ids, NULL, NULL)"
        " AND t.tsv @@ websearch_to_tsquery('english', w.query)"
        " GROUP BY w.id, t.video_id, t.start_s ORDER BY w.id, t.start_s"
        " ON CONFLICT (watch_id, video_id, source, start_s) DO NOTHING RETURNING id"
    ),
    "text": text(
        "INSERT INTO watch_hits (watch_id, video_id, chunk_index, start_s, end_s, source, text,"
        " delivery)"
        " SELECT w.id, t.video_id, :chunk, t.start_s, max(t.end_s), 'text',"
        " string_agg(t.text, ' ' ORDER BY t.box_y1, t.box_x1, t.id),"
        " CASE WHEN w.webhook_url IS NULL THEN 'none' ELSE 'pending' END"
        " FROM watches w JOIN onscreen_text t"
        " ON t.video_id = :video AND t.start_s >= :a AND t.start_s < :b"
        " WHERE w.active AND 'text' = ANY(w.sources)"
        " AND vidkg_in_scope(t.video_id, t.start_s, t.end_s, w.video_ids, NULL, NULL)"
        " AND (to_tsvector('simple'::regconfig, t.text) @@ websearch_to_tsquery('simple', w.query)"
        " OR word_similarity(lower(replace(w.query, '\"', '')), lower(t.text)) >= :similarity)"
        " GROUP BY w.id, t.video_id, t.start_s ORDER BY w.id, t.start_s"
        " ON CONFLICT (watch_id, video_id, source, start_s) DO NOTHING RETURNING id"
    ),
    "object": text(
        "INSERT INTO watch_hits (watch_id, video_id, chunk_index, start_s, end_s, source, text,"
        " delivery)"
        " SELECT w.id, t.video_id, :chunk, t.start_s, max(t.end_s), 'object',"
        " string_agg(DISTINCT t.label, ' '),"
        " CASE WHEN w.webhook_url IS NULL THEN 'none' ELSE 'pending' END"
        " FROM watches w JOIN tracks t"
        " ON t.video_id = :video AND t.start_s >= :a AND t.start_s < :b"
        " WHERE w.active AND 'object' = ANY(w.sources)"
        " AND vidkg_in_scope(t.video_id, t.start_s, t.end_s, w.video_ids, NULL, NULL)"
        " AND to_tsvector('english'::regconfig, t.label)"
        " @@ websearch_to_tsquery('english', w.query)"
        " GROUP BY w.id, t.video_id, t.start_s ORDER BY w.id, t.start_s"
        " ON CONFLICT (watch_id, video_id, source, start_s) DO NOTHING RETURNING id"
    ),
    "caption": text(
        "INSERT INTO watch_hits (watch_id, video_id, chunk_index, start_s, end_s, source, text,"
        " delivery)"
        " SELECT w.id, t.video_id, :chunk, t.start_s, max(t.end_s), 'caption',"
        " string_agg(t.text, ' ' ORDER BY t.id),"
        " CASE WHEN w.webhook_url IS NULL THEN 'none' ELSE 'pending' END"
        " FROM watches w JOIN captions t"
        " ON t.video_id = :video AND t.start_s >= :a AND t.start_s < :b"
        " WHERE w.active AND 'caption' = ANY(w.sources)"
        " AND vidkg_in_scope(t.video_id, t.start_s, t.end_s, w.video_ids, NULL, NULL)"
        " AND t.tsv @@ websearch_to_tsquery('english', w.query)"
        " GROUP BY w.id, t.video_id, t.start_s ORDER BY w.id, t.start_s"
        " ON CONFLICT (watch_id, video_id, source, start_s) DO NOTHING RETURNING id"
    ),
}
_ANY_ACTIVE = text("SELECT EXISTS (SELECT FROM watches WHERE active)")


def match_chunk(
    db: Database, settings: Settings, video_id: int, chunk: Chunk, stages: Iterable[str]
) -> list[int]:
    """Match the rows ``stages`` just stored for ``chunk`` against the active watches;
    the ids of new hits. Never raises: the ingest goes on whatever a watch does."""
    sources = [SOURCE_OF_STAGE[s] for s in stages if s in SOURCE_OF_STAGE]
    if not sources:
        return []
    try:
        new = _match(db, settings, video_id, chunk, sources)
        if new is None:  # no active watch: nothing to match, nothing pending to send
            return []
    except Exception:  # noqa: BLE001 - a watch must never fail the ingest
        log.warning(
            "watches: matching chunk %s of video %s failed", chunk.index, video_id, exc_info=True
        )
        return []
    if new:
        log.info("watches: %d new hit(s) in chunk %s of video %s", len(new), chunk.index, video_id)
    SWEEPER.kick(db, settings)
    return new


def _match(
    db: Database, settings: Settings, video_id: int, chunk: Chunk, sources: list[str]
) -> list[int] | None:
    bind = {
        "video": video_id,
        "chunk": chunk.index,
        "a": chunk.start_s,
        "b": chunk.end_s,
        "similarity": settings.retrieval.fuzzy_min_similarity,
    }
    new: list[int] = []
    with db.sessions.begin() as s:
        if not s.execute(_ANY_ACTIVE).scalar_one():
            return None
        for source in sources:
            new.extend(s.execute(_MATCH[source], bind).scalars())
    return new
