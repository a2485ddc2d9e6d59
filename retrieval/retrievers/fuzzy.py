"""Fuzzy: pg_trgm ``word_similarity`` of a phrase to on-screen text and speech.

OCR misreads letters ("CL0SED") and splits or joins words; an analyst types part of what
was shown ("RE16" for "RE16 TGK"). Word similarity scores the best-matching extent of the
stored text, so partial strings and one-letter misreads still match, where full text
search needs whole, correctly read words. Trigram indexes on ``lower(text)`` serve it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from retrieval.registry import Plugin, retriever
from retrieval.scope_sql import run_by_source, scope_params
from retrieval.types import Hit, Query, Source

_THRESHOLD = text("SELECT set_config('pg_trgm.word_similarity_threshold', :th, true)")

_BY_SOURCE = {
    Source.TEXT: text(
        "SELECT * FROM (SELECT DISTINCT ON (t.id) 'onscreen_text', t.id, t.video_id,"
        " t.start_s, t.end_s,"
        " t.text, word_similarity(lower(p), lower(t.text)) AS score"
        " FROM unnest(CAST(:phrases AS text[])) p, onscreen_text t"
        " WHERE lower(p) <% lower(t.text)"
        " AND vidkg_in_scope(t.video_id, t.start_s, t.end_s, :videos, :t0, :t1)"
        " ORDER BY t.id, score DESC) AS found ORDER BY score DESC, start_s LIMIT :k"
    ),
    Source.SPEECH: text(
        "SELECT * FROM (SELECT DISTINCT ON (t.id) 'speech_segments', t.id, t.video_id,"
        " t.start_s, t.end_s,"
        " t.text, word_similarity(lower(p), lower(t.text)) AS score"
        " FROM unnest(CAST(:phrases AS text[])) p, speech_segments t"
        " WHERE lower(p) <% lower(t.text)"
        " AND vidkg_in_scope(t.video_id, t.start_s, t.end_s, :videos, :t0, :t1)"
        " ORDER BY t.id, score DESC) AS found ORDER BY score DESC, start_s LIMIT :k"
    ),
}


class FuzzyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_similarity: float | None = Field(
        default=None,
        ge=0.1,
        le=1,
        description="word_similarity floor (default: VIDKG_RETRIEVAL__FUZZY_MIN_SIMILARITY).",
    )


def phrases_of(query: Query) -> list[str]:
    """The phrases to match: the planner's (quoted strings, codes), else the text typed."""
    found = [p.strip() for p in query.phrases if len(p.strip()) >= 2]
    return found or ([query.text.strip()] if len(query.text.strip()) >= 2 else [])


@retriever
class FuzzyRetriever(Plugin):
    name: ClassVar[str] = "fuzzy"
    description: ClassVar[str] = (
        "Trigram match of a phrase inside on-screen text and speech: finds partial "
        "strings and misread codes ('RE16' finds 'RE16 TGK', 'CL0SED' finds 'CLOSED')."
    )
    sources: ClassVar[frozenset[Source]] = frozenset({Source.TEXT, Source.SPEECH})
    Params: ClassVar[type[BaseModel]] = FuzzyParams

    def retrieve(self, query: Query, params: BaseModel, k: int) -> list[Hit]:
        assert isinstance(params, FuzzyParams)
        phrases = phrases_of(query)
        if not phrases:
            return []
        floor = params.min_similarity or self.ctx.settings.fuzzy_min_similarity
        bind = scope_params(query.scope) | {"phrases": phrases, "k": k}
        setup = [(_THRESHOLD, {"th": str(floor)})]
        return run_by_source(self.ctx, _BY_SOURCE, query, bind, k, setup)
