"""Visual: CLIP text-to-frame similarity over the keyframes' embeddings.

Needs open_clip weights (``VIDKG_INDEXER__CLIP__*``), for the frames at ingest and for
the query here; without them it reports itself unavailable and plans skip it. No CLIP
weights exist offline on the machines vidkg is tested on: this leg is unverified there.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from retrieval.registry import Plugin, retriever
from retrieval.types import EvidenceRef, Hit, Query, Source

_SQL = text(
    "SELECT t.id, t.video_id, t.t_s, 1 - (t.embedding <=> CAST(:qv AS vector)) AS score"
    " FROM frames t WHERE t.embedding IS NOT NULL AND t.embedding_model = :model"
    " AND (cardinality(CAST(:videos AS bigint[])) = 0"
    "      OR t.video_id = ANY(CAST(:videos AS bigint[])))"
    " AND (CAST(:t0 AS float8) IS NULL OR t.t_s >= CAST(:t0 AS float8))"
    " AND (CAST(:t1 AS float8) IS NULL OR t.t_s <= CAST(:t1 AS float8))"
    " ORDER BY t.embedding <=> CAST(:qv AS vector) LIMIT :k"
)
_ITERATIVE = text("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")


class VisualParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_similarity: float = Field(default=0.2, ge=-1, le=1, description="CLIP cosine floor.")
    half_window_s: float = Field(
        default=2.0, ge=0, le=60, description="A frame hit spans this long on each side."
    )


@retriever
class VisualRetriever(Plugin):
    name: ClassVar[str] = "visual"
    description: ClassVar[str] = (
        "What the frames look like: CLIP similarity of the query to keyframes. Needs "
        "open_clip weights at ingest and query time."
    )
    sources: ClassVar[frozenset[Source]] = frozenset({Source.VISUAL})
    Params: ClassVar[type[BaseModel]] = VisualParams

    def unavailable(self) -> str | None:
        if self.ctx.clip_text is None:
            return "no CLIP weights configured (VIDKG_INDEXER__CLIP__PRETRAINED)"
        return None

    def retrieve(self, query: Query, params: BaseModel, k: int) -> list[Hit]:
        assert isinstance(params, VisualParams) and self.ctx.clip_text is not None
        if not query.scope.allows(Source.VISUAL):
            return []
        vector = list(self.ctx.clip_text([query.text])[0])
        bind = {
            "qv": str(vector),
            "model": self.ctx.clip_model,
            "videos": list(query.scope.videos),
            "t0": query.scope.start_s,
            "t1": query.scope.end_s,
            "k": k,
        }
        with self.ctx.sessions() as s:
            s.execute(_ITERATIVE)
            rows = s.execute(_SQL, bind).all()
        w = params.half_window_s
        return [
            Hit(
                v,
                max(0.0, t - w),
                t + w,
                Source.VISUAL,
                "keyframe",
                float(sc),
                EvidenceRef("frames", i),
            )
            for i, v, t, sc in rows
            if sc >= params.min_similarity
        ]
