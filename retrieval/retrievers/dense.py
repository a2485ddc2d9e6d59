"""Dense: pgvector cosine search over sentence embeddings of speech, on-screen text,
captions and events (the embed stage's MiniLM, lent by the process).

pgvector filters after its HNSW scan, so a filtered search could return fewer than ``k``
hits although ``k`` exist. Within chosen videos the search is exact (index scans off for
the transaction; a video holds thousands of rows, not millions); across the library the
HNSW scan is iterative (``hnsw.iterative_scan``, pgvector 0.8) until ``k`` pass.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from retrieval.registry import Plugin, retriever
from retrieval.scope_sql import run_by_source, scope_params
from retrieval.types import Hit, Query, Source

_EXACT = text("SELECT set_config('enable_indexscan', 'off', true)")
_ITERATIVE = text(
    "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),"
    " set_config('hnsw.ef_search', CAST(:ef AS text), true)"
)


_BY_SOURCE = {
    Source.SPEECH: text(
        "SELECT 'speech_segments', t.id, t.video_id, t.start_s, t.end_s, t.text,"
        " 1 - (t.embedding <=> CAST(:qv AS vector)) AS score FROM speech_segments t"
        " WHERE t.embedding IS NOT NULL"
        " AND vidkg_in_scope(t.video_id, t.start_s, t.end_s, :videos, :t0, :t1)"
        " ORDER BY t.embedding <=> CAST(:qv AS vector) LIMIT :k"
    ),
    Source.TEXT: text(
        "SELECT 'onscreen_text', t.id, t.video_id, t.start_s, t.end_s, t.text,"
        " 1 - (t.embedding <=> CAST(:qv AS vector)) AS score FROM onscreen_text t"
        " WHERE t.embedding IS NOT NULL"
        " AND vidkg_in_scope(t.video_id, t.start_s, t.end_s, :videos, :t0, :t1)"
        " ORDER BY t.embedding <=> CAST(:qv AS vector) LIMIT :k"
    ),
    Source.CAPTION: text(
        "SELECT 'captions', t.id, t.video_id, t.start_s, t.end_s, t.text,"
        " 1 - (t.embedding <=> CAST(:qv AS vector)) AS score FROM captions t"
        " WHERE t.embedding IS NOT NULL"
        " AND vidkg_in_scope(t.video_id, t.start_s, t.end_s, :videos, :t0, :t1)"
        " ORDER BY t.embedding <=> CAST(:qv AS vector) LIMIT :k"
    ),
    Source.EVENT: text(
        "SELECT 'events', t.id, t.video_id, t.start_s, t.end_s, t.title,"
        " 1 - (t.embedding <=> CAST(:qv AS vector)) AS score FROM events t"
        " WHERE t.embedding IS NOT NULL"
        " AND vidkg_in_scope(t.video_id, t.start_s, t.end_s, :videos, :t0, :t1)"
        " ORDER BY t.embedding <=> CAST(:qv AS vector) LIMIT :k"
    ),
}


class DenseParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_similarity: float | None = Field(
        default=None,
        ge=-1,
        le=1,
        description="Cosine floor (default: VIDKG_RETRIEVAL__DENSE_MIN_SIMILARITY).",
    )


@retriever
class DenseRetriever(Plugin):
    name: ClassVar[str] = "dense"
    description: ClassVar[str] = (
        "Semantic search by sentence embeddings: finds paraphrases of what was said or "
        "shown. Needs the text embedding model."
    )
    sources: ClassVar[frozenset[Source]] = frozenset(
        {Source.SPEECH, Source.TEXT, Source.CAPTION, Source.EVENT}
    )
    Params: ClassVar[type[BaseModel]] = DenseParams

    def unavailable(self) -> str | None:
        return None if self.ctx.embed is not None else "no text embedding model"

    def retrieve(self, query: Query, params: BaseModel, k: int) -> list[Hit]:
        assert isinstance(params, DenseParams) and self.ctx.embed is not None
        vector = list(self.ctx.embed([query.text])[0])
        floor = params.min_similarity
        if floor is None:
            floor = self.ctx.settings.dense_min_similarity
        bind = scope_params(query.scope) | {"qv": str(vector), "k": k}
        setup = [(_EXACT, {})] if query.scope.videos else [(_ITERATIVE, {"ef": max(40, 2 * k)})]
        hits = run_by_source(self.ctx, _BY_SOURCE, query, bind, k, setup)
        return [h for h in hits if h.score >= floor]
