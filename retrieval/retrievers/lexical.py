"""Lexical: PostgreSQL full text over speech, on-screen text, captions and events.

``websearch_to_tsquery`` never raises on user input. Speech, captions and events use the
``english`` configuration (stems); on-screen text uses ``simple``, so codes and names
read by OCR ("RE16", "KL 1092") match as written. Several key terms are OR-ed and ranked
by cover density, so the moment holding most of them comes first.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from retrieval.registry import Plugin, retriever
from retrieval.scope_sql import run_by_source, scope_params
from retrieval.types import Hit, Query, Source

_BY_SOURCE = {
    Source.SPEECH: text(
        "SELECT 'speech_segments', t.id, t.video_id, t.start_s, t.end_s, t.text,"
        " ts_rank_cd(t.tsv, q) AS score"
        " FROM speech_segments t, websearch_to_tsquery('english', :q) q"
        " WHERE t.tsv @@ q AND vidkg_in_scope(t.video_id, t.start_s, t.end_s, :videos, :t0, :t1)"
        " ORDER BY score DESC, t.start_s LIMIT :k"
    ),
    Source.TEXT: text(
        "SELECT 'onscreen_text', t.id, t.video_id, t.start_s, t.end_s, t.text,"
        " ts_rank_cd(to_tsvector('simple'::regconfig, t.text), q) AS score"
        " FROM onscreen_text t, websearch_to_tsquery('simple', :q) q"
        " WHERE to_tsvector('simple'::regconfig, t.text) @@ q"
        " AND vidkg_in_scope(t.video_id, t.start_s, t.end_s, :videos, :t0, :t1)"
        " ORDER BY score DESC, t.start_s LIMIT :k"
    ),
    Source.CAPTION: text(
        "SELECT 'captions', t.id, t.video_id, t.start_s, t.end_s, t.text,"
        " ts_rank_cd(t.tsv, q) AS score"
        " FROM captions t, websearch_to_tsquery('english', :q) q"
        " WHERE t.tsv @@ q AND vidkg_in_scope(t.video_id, t.start_s, t.end_s, :videos, :t0, :t1)"
        " ORDER BY score DESC, t.start_s LIMIT :k"
    ),
    Source.EVENT: text(
        "SELECT 'events', t.id, t.video_id, t.start_s, t.end_s, t.title,"
        " ts_rank_cd(t.tsv, q) AS score"
        " FROM events t, websearch_to_tsquery('english', :q) q"
        " WHERE t.tsv @@ q AND vidkg_in_scope(t.video_id, t.start_s, t.end_s, :videos, :t0, :t1)"
        " ORDER BY score DESC, t.start_s LIMIT :k"
    ),
}


class LexicalParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    match: str = Field(
        default="any",
        pattern="^(any|all)$",
        description="any: OR the key terms, ranked by how many match; all: every term.",
    )


def tsquery_text(query: Query, match: str) -> str:
    """The websearch text: the key terms OR-ed (``any``) or the words as typed (``all``)."""
    terms = [t for t in (*query.phrases, *query.terms) if t.strip()]
    if match == "all" or not terms:
        return query.text
    quoted = [f'"{t}"' if " " in t else t for t in (t.replace('"', " ") for t in terms)]
    return " or ".join(quoted)


@retriever
class LexicalRetriever(Plugin):
    name: ClassVar[str] = "lexical"
    description: ClassVar[str] = (
        "Full-text search (stemmed for speech, captions and events; as written for "
        "on-screen text). Best for exact words, names and codes."
    )
    sources: ClassVar[frozenset[Source]] = frozenset(
        {Source.SPEECH, Source.TEXT, Source.CAPTION, Source.EVENT}
    )
    Params: ClassVar[type[BaseModel]] = LexicalParams

    def retrieve(self, query: Query, params: BaseModel, k: int) -> list[Hit]:
        assert isinstance(params, LexicalParams)
        bind = scope_params(query.scope) | {"q": tsquery_text(query, params.match), "k": k}
        return run_by_source(self.ctx, _BY_SOURCE, query, bind, k)
