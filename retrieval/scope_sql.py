"""Bind parameters of the scope filter every retriever's SQL shares.

Statements are static text and call ``vidkg_in_scope(t.video_id, t.start_s, t.end_s,
:videos, :t0, :t1)`` (migration 0006); values always travel as bind parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import TextClause

from retrieval.types import EvidenceRef, Hit, Query, Scope, Source

if TYPE_CHECKING:
    from retrieval.registry import Context


def scope_params(scope: Scope) -> dict[str, Any]:
    return {"videos": list(scope.videos), "t0": scope.start_s, "t1": scope.end_s}


def run_by_source(
    ctx: Context,
    statements: Mapping[Source, TextClause],
    query: Query,
    bind: dict[str, Any],
    k: int,
    setup: Sequence[tuple[TextClause, dict[str, Any]]] = (),
) -> list[Hit]:
    """Run each source's statement the scope allows (columns: table, id, video, start,
    end, text, score) after the ``setup`` statements (``set_config`` of the transaction),
    and return the best ``k`` hits of all, by score."""
    hits: list[Hit] = []
    with ctx.sessions() as s:
        for stmt, params in setup:
            s.execute(stmt, params)
        for source, stmt in statements.items():
            if query.scope.allows(source):
                hits += [
                    Hit(v, a, b, source, txt, float(score), EvidenceRef(tbl, i))
                    for tbl, i, v, a, b, txt, score in s.execute(stmt, bind)
                ]
    hits.sort(key=lambda h: (-h.score, h.video_id, h.start_s))
    return hits[:k]
