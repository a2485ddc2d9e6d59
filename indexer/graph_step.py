"""The ``graph`` unit of a job: build the video's knowledge graph after its last chunk.

A thin wrapper over :func:`graph.build.build_video_graph` (the same function
``vidkg graph rebuild`` calls): it lends the graph build the indexer's text model for
event embeddings and writes the unit's checkpoint in the graph's own transaction.
Scenes are renumbered first so events follow the video's final scene order.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from graph.build import build_video_graph, graph_videos
from graph.types import BuildResult, TextEmbedder
from indexer.faults import is_transient
from indexer.jobs import Job
from indexer.models import ModelRegistry, ModelUnavailable
from indexer.plan import GRAPH, IngestReport
from indexer.store import EvidenceStore
from vidkg.db import Database
from vidkg.schema import Video
from vidkg.settings import Settings

if TYPE_CHECKING:
    from indexer.pipeline import Pipeline

log = logging.getLogger(__name__)


def text_embedder(
    registry: ModelRegistry, settings: Settings
) -> tuple[TextEmbedder | None, str | None]:
    """The embed stage's sentence model (same model, same checks), or (None, None) when
    it cannot be had: events are then stored without embeddings."""
    from indexer.stages.embed import TextEmbeddingStage

    try:
        stage = TextEmbeddingStage(
            registry, settings.embeddings.text_dim, settings.indexer.embed.batch_size
        )
    except (ModelUnavailable, ValueError) as exc:
        log.warning("events are stored without embeddings: %s", exc)
        return None, None
    return stage.encode, stage.model_name


def build_graph(
    pipeline: Pipeline, job: Job, video: Video, store: EvidenceStore, report: IngestReport
) -> None:
    """Build the graph; a failure that is not transient is recorded on the checkpoint."""
    key = (0, 0.0, job.timeline_s)
    embed, model = text_embedder(pipeline.registry, pipeline.settings)

    def checkpoint(session: Session, counts: dict[str, int]) -> None:
        rows = counts.get("events", 0) + counts.get("mentions", 0)
        store.mark(GRAPH, key, "done", job_id=job.id, rows=rows, session=session)

    store.renumber_scenes()
    try:
        result = build_video_graph(
            pipeline.db.sessions, video.id, pipeline.settings.graph, embed, model, checkpoint
        )
    except Exception as exc:
        if is_transient(exc):
            raise
        log.exception("graph of video %s failed", video.id)
        error = f"{type(exc).__name__}: {exc}"
        store.mark(GRAPH, key, "failed", job_id=job.id, error=error)
        report.failures.append({"stage": GRAPH, "chunk": 0, "start_s": 0.0, "error": error})
        return
    report.graph = result.counts
    report.graph_s = result.seconds


def rebuild_graphs(
    db: Database, settings: Settings, registry: ModelRegistry, video_id: int | None = None
) -> list[BuildResult]:
    """``vidkg graph rebuild``: rebuild one video's graph, or every video's, from the
    stored evidence (nothing is re-extracted)."""
    embed, model = text_embedder(registry, settings)
    videos = [video_id] if video_id is not None else graph_videos(db.sessions)
    return [build_video_graph(db.sessions, v, settings.graph, embed, model) for v in videos]
