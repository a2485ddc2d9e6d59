"""Graph: entities of the knowledge graph whose names match the query, and their mentions.

An entity gathers every reading of one thing (fuzzy-merged OCR strings, a name said in
several places, a key phrase), so one match finds all its moments, each with the
evidence row it was read from.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from retrieval.registry import Plugin, retriever
from retrieval.scope_sql import scope_params
from retrieval.types import EvidenceRef, Hit, Query, Source

_SQL = text(
    "WITH hit AS ("
    "  SELECT e.id, e.kind, max(word_similarity(lower(p), e.canonical_name)) AS score"
    "  FROM unnest(CAST(:phrases AS text[])) p"
    "  JOIN entities e ON lower(p) <% e.canonical_name"
    "  WHERE e.kind = ANY(:kinds) GROUP BY e.id, e.kind"
    ")"
    " SELECT hit.kind, coalesce(t.source_kind, 'mentions'), coalesce(t.source_id, t.id),"
    "  t.video_id, t.start_s, t.end_s, coalesce(t.surface, en.name), hit.score"
    " FROM hit JOIN mentions t ON t.entity_id = hit.id JOIN entities en ON en.id = hit.id"
    " WHERE vidkg_in_scope(t.video_id, t.start_s, t.end_s, :videos, :t0, :t1)"
    " ORDER BY hit.score DESC, t.start_s LIMIT :k"
)
_THRESHOLD = text("SELECT set_config('pg_trgm.word_similarity_threshold', :th, true)")

KIND_SOURCE = {"text": Source.TEXT, "term": Source.SPEECH, "name": Source.SPEECH}


class EntityParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_similarity: float = Field(
        default=0.8, ge=0.1, le=1, description="word_similarity of a phrase to a name."
    )


@retriever
class EntityRetriever(Plugin):
    name: ClassVar[str] = "graph"
    description: ClassVar[str] = (
        "Knowledge-graph entities (texts read, names and key phrases said) whose name "
        "matches a phrase or key term, with every moment they are mentioned."
    )
    sources: ClassVar[frozenset[Source]] = frozenset({Source.TEXT, Source.SPEECH})
    Params: ClassVar[type[BaseModel]] = EntityParams

    def retrieve(self, query: Query, params: BaseModel, k: int) -> list[Hit]:
        assert isinstance(params, EntityParams)
        phrases = [p for p in (*query.phrases, *query.terms) if len(p) >= 3]
        kinds = [kind for kind, src in KIND_SOURCE.items() if query.scope.allows(src)]
        if not phrases or not kinds:
            return []
        bind = scope_params(query.scope)
        bind.update(phrases=phrases, kinds=kinds, k=k)
        with self.ctx.sessions() as s:
            s.execute(_THRESHOLD, {"th": str(params.min_similarity)})
            rows = s.execute(_SQL, bind).all()
        return [
            Hit(v, a, b, KIND_SOURCE[kind], surface, float(score), EvidenceRef(tbl, i))
            for kind, tbl, i, v, a, b, surface, score in rows
        ]
