"""Objects: tracks of the people and objects a query names, from the detector's labels.

"people walking", "a pedestrian", "persons" all name the ``person`` label; other words
name a label when they are one (``car``, ``dog``) with a detector that knows it. Each
track is a hit spanning its first to last box, scored by its boxes and confidence.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from retrieval.registry import Plugin, retriever
from retrieval.scope_sql import scope_params
from retrieval.types import EvidenceRef, Hit, Query, Source

SYNONYMS = {
    "person": {
        "person",
        "persons",
        "people",
        "pedestrian",
        "pedestrians",
        "man",
        "men",
        "woman",
        "women",
        "someone",
        "somebody",
        "human",
        "humans",
        "walker",
        "walkers",
        "crowd",
        "passer",
        "passers",
        "passersby",
    },
}

_LABELS = text("SELECT DISTINCT label FROM tracks")
_SQL = text(
    "SELECT 'tracks', t.id, t.video_id, t.start_s, t.end_s, t.label,"
    "  t.detection_count * coalesce(t.max_confidence, 0.5) AS score"
    " FROM tracks t WHERE t.label = ANY(:labels) AND t.detection_count >= :min_boxes"
    " AND vidkg_in_scope(t.video_id, t.start_s, t.end_s, :videos, :t0, :t1)"
    " ORDER BY score DESC, t.start_s LIMIT :k"
)


def labels_named(words: str, known: set[str]) -> list[str]:
    """Detector labels the words name (synonyms, or a label spelt out, singular or plural)."""
    tokens = set(re.findall(r"[a-z]+", words.lower()))
    found = {label for label, names in SYNONYMS.items() if tokens & names}
    found |= {label for label in known if label in tokens or f"{label}s" in tokens}
    return sorted(found & known) if known else sorted(found)


class ObjectParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_boxes: int = Field(default=2, ge=1, le=100000, description="Shorter tracks are skipped.")


@retriever
class ObjectRetriever(Plugin):
    name: ClassVar[str] = "objects"
    description: ClassVar[str] = (
        "People and objects seen: the detector's tracks whose label the query names "
        "(people, pedestrians, persons -> person)."
    )
    sources: ClassVar[frozenset[Source]] = frozenset({Source.OBJECT})
    Params: ClassVar[type[BaseModel]] = ObjectParams

    def retrieve(self, query: Query, params: BaseModel, k: int) -> list[Hit]:
        assert isinstance(params, ObjectParams)
        with self.ctx.sessions() as s:
            known = {label for (label,) in s.execute(_LABELS)}
            labels = labels_named(" ".join((query.text, *query.terms)), known)
            if not labels:
                return []
            if not labels or not query.scope.allows(Source.OBJECT):
                return []
            bind = scope_params(query.scope)
            bind.update(labels=labels, k=k, min_boxes=params.min_boxes)
            rows = s.execute(_SQL, bind).all()
        return [
            Hit(v, a, b, Source.OBJECT, label, float(score), EvidenceRef(tbl, i))
            for tbl, i, v, a, b, label, score in rows
        ]
