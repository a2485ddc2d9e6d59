"""``vidkg bench graph``: build time, memory and networkx load time on replicated evidence.

A video's stored evidence (scenes, speech, texts, tracks, untracked detections,
captions) is copied N times into a scratch database under new video ids, as if the same
hour had been ingested N times; every copy's graph is then built in turn (the library
grows, so entity linking meets more and more stored entities), and each video's graph
and the whole library's are loaded into networkx. Nothing of the source database is
changed.
"""

from __future__ import annotations

import hashlib
import resource
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, sessionmaker

from graph.build import VideoNotFound, build_video_graph
from graph.load import GraphCache
from graph.types import TextEmbedder
from vidkg.graph_settings import GraphSettings
from vidkg.schema import Caption, Detection, OnscreenText, Scene, SpeechSegment, Track, Video

EVIDENCE = (Scene, SpeechSegment, OnscreenText, Track, Caption, Detection)
SKIP = {"id", "video_id", "created_at", "updated_at"}
VECTORS = {"embedding", "embedding_model"}


def _columns(table: Table, vectors: bool = False) -> list[Any]:
    skip = SKIP if vectors else SKIP | VECTORS
    return [c for c in table.columns if c.name not in skip and c.computed is None]


def _rows(session: Session, model: Any, video_id: int, vectors: bool) -> list[dict[str, Any]]:
    query = select(*_columns(model.__table__, vectors)).where(model.video_id == video_id)
    if model is Detection and not vectors:  # the graph reads only sightings without a track
        query = query.where(Detection.track_id.is_(None))
    if model is Detection:  # tracks get new ids: copied sightings keep no track
        return [dict(r, track_id=None) for r in session.execute(query).mappings()]
    return [dict(r) for r in session.execute(query).mappings()]


def replicate(
    src: sessionmaker[Session],
    dst: sessionmaker[Session],
    video_id: int,
    copies: int,
    vectors: bool = False,
) -> list[int]:
    """Copy one video's evidence ``copies`` times into ``dst`` (with its sentence
    embeddings when ``vectors``, for search benchmarks); the new video ids."""
    video_cols = _columns(Video.__table__)
    with src() as s:
        video = s.execute(select(*video_cols).where(Video.id == video_id)).mappings().first()
        if video is None:
            raise VideoNotFound(f"no video {video_id}")
        rows = {m: _rows(s, m, video_id, vectors) for m in EVIDENCE}
    ids = []
    with dst.begin() as d:
        for n in range(copies):
            sha = hashlib.sha256(f"{video['sha256']}:{n}".encode()).hexdigest()
            new = dict(video, sha256=sha, file_name=f"{video['file_name']}#{n + 1}")
            vid = d.execute(insert(Video).returning(Video.id), [new]).scalar_one()
            for model, items in rows.items():
                if items:
                    d.execute(insert(model), [dict(r, video_id=vid) for r in items])
            ids.append(vid)
    return ids


@dataclass(frozen=True)
class GraphBench:
    copies: int
    build_s: list[float]
    load_video_s: list[float]
    load_library_s: float
    library_nodes: int
    library_edges: int
    peak_rss_mb: float
    counts: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        n = max(1, len(self.build_s))
        return {
            "copies": self.copies,
            "build_s_per_video": [round(x, 2) for x in self.build_s],
            "build_s_mean": round(sum(self.build_s) / n, 3),
            "build_s_total": round(sum(self.build_s), 2),
            "load_s_per_video_mean": round(sum(self.load_video_s) / n, 3),
            "load_s_library": round(self.load_library_s, 3),
            "library_nodes": self.library_nodes,
            "library_edges": self.library_edges,
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "counts_per_video": self.counts,
        }


def run_graph_bench(
    sessions: sessionmaker[Session],
    video_ids: list[int],
    cfg: GraphSettings,
    embed: TextEmbedder | None,
    model: str | None,
) -> GraphBench:
    builds, counts = [], {}
    for vid in video_ids:
        result = build_video_graph(sessions, vid, cfg, embed, model)
        builds.append(result.seconds)
        counts = result.counts
    loads = []
    for vid in video_ids:
        t0 = time.perf_counter()
        GraphCache(sessions).get(vid)
        loads.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    library = GraphCache(sessions).get(None)
    load_library = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return GraphBench(
        len(video_ids),
        builds,
        loads,
        load_library,
        library.number_of_nodes(),
        library.number_of_edges(),
        peak,
        counts,
    )
