"""Build (or rebuild) one video's knowledge graph from its stored evidence.

The same function runs in-process at the end of an ingest, in the Celery ``graph``
unit, and for ``vidkg graph rebuild``. It is idempotent: building twice leaves the same
graph (with a new version). Description embeddings are computed before the write
transaction opens, so the graph lock is held only while rows are written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from graph.draft import draft_graph
from graph.evidence import load_evidence
from graph.store import write_graph
from graph.types import BuildResult, TextEmbedder
from vidkg.graph_settings import GraphSettings

log = logging.getLogger(__name__)


class VideoNotFound(LookupError):
    pass


def build_video_graph(
    sessions: sessionmaker[Session],
    video_id: int,
    cfg: GraphSettings,
    embed: TextEmbedder | None = None,
    embedding_model: str | None = None,
    then: Callable[[Session, dict[str, int]], None] | None = None,
) -> BuildResult:
    """Replace ``video_id``'s events, mentions and relations with ones built afresh.
    Without ``embed``, events are stored without a description embedding. ``then`` runs
    inside the write transaction with the counts (the indexer marks its checkpoint
    there, so the graph and its checkpoint commit together)."""
    t0 = time.perf_counter()
    with sessions() as s:
        if s.execute(text("SELECT 1 FROM videos WHERE id = :v"), {"v": video_id}).first() is None:
            raise VideoNotFound(f"no video {video_id}")
        evidence = load_evidence(s, video_id)
    draft = draft_graph(evidence, cfg)
    vectors = None
    if embed is not None and draft.events:
        vectors = embed([f"{e.title}. {e.description}" for e in draft.events])
    with sessions.begin() as s:
        version, counts = write_graph(
            s, draft, vectors, cfg, embedding_model, time.perf_counter() - t0
        )
        if then is not None:
            then(s, counts)
    seconds = time.perf_counter() - t0
    log.info("graph of video %s built in %.2f s: %s", video_id, seconds, counts)
    return BuildResult(video_id, version, seconds, counts)


def graph_videos(sessions: sessionmaker[Session]) -> list[int]:
    """Videos that have evidence to build a graph from (every registered video)."""
    with sessions() as s:
        return [v for (v,) in s.execute(text("SELECT id FROM videos ORDER BY id"))]
