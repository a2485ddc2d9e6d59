"""The one write path of the graph: a video's graph replaced in one transaction.

Writing deletes the video's events (their sources cascade), mentions and relations,
resolves entity keys against the library, inserts the new rows, drops entities that only
this video supported, and records the build with a new version. A crash leaves the old
graph or the new one. Builds take one advisory lock, so two videos that share an entity
never race on it (a build is seconds long; correctness beats parallel writes here).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from graph.linking import Resolved, resolve
from graph.types import EdgeEnd, GraphDraft, Predicate, RelationDraft
from vidkg.graph_settings import GraphSettings
from vidkg.schema import Event, EventSource, Mention, Relation

GRAPH_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('vidkg:graph', 0))")
_TOUCHED = text(
    "SELECT entity_id FROM mentions WHERE video_id = :v UNION "
    "SELECT src_entity_id FROM relations WHERE video_id = :v AND src_entity_id IS NOT NULL "
    "UNION SELECT dst_entity_id FROM relations WHERE video_id = :v "
    "AND dst_entity_id IS NOT NULL"
)
_CLEAR = [
    text("DELETE FROM relations WHERE video_id = :v"),
    text("DELETE FROM mentions WHERE video_id = :v"),
    text("DELETE FROM events WHERE video_id = :v"),
]
_ORPHANS = text(
    "DELETE FROM entities e WHERE e.id = ANY(:ids) "
    "AND NOT EXISTS (SELECT 1 FROM mentions m WHERE m.entity_id = e.id) "
    "AND NOT EXISTS (SELECT 1 FROM relations r "
    "                WHERE r.src_entity_id = e.id OR r.dst_entity_id = e.id)"
)
_RECORD = text(
    "INSERT INTO graph_builds (video_id, version, seconds, counts) "
    "VALUES (:v, nextval('graph_build_version'), :seconds, CAST(:counts AS jsonb)) "
    "ON CONFLICT (video_id) DO UPDATE SET version = EXCLUDED.version, built_at = now(), "
    "seconds = EXCLUDED.seconds, counts = EXCLUDED.counts RETURNING version"
)


def clear_video_graph(session: Session, video_id: int) -> list[int]:
    """Delete a video's events, mentions and relations; the entity ids they touched."""
    touched = [r for (r,) in session.execute(_TOUCHED, {"v": video_id})]
    for stmt in _CLEAR:
        session.execute(stmt, {"v": video_id})
    return touched


def drop_orphans(session: Session, entity_ids: Sequence[int]) -> int:
    """Delete those of ``entity_ids`` that no mention or relation refers to any more."""
    if not entity_ids:
        return 0
    return session.execute(_ORPHANS, {"ids": list(entity_ids)}).rowcount or 0


def write_graph(
    session: Session,
    draft: GraphDraft,
    vectors: Sequence[Sequence[float]] | None,
    cfg: GraphSettings,
    embedding_model: str | None,
    seconds: float,
) -> tuple[int, dict[str, int]]:
    """Replace the video's graph with ``draft``; returns (version, counts)."""
    session.execute(GRAPH_LOCK)
    v = draft.video_id
    touched = clear_video_graph(session, v)
    resolved = resolve(session, draft.entities.values(), cfg)
    event_ids = _insert_events(session, draft, vectors, embedding_model)
    rows = [
        dict(event_id=event_ids[e.index], source_kind=k.value, source_id=i)
        for e in draft.events
        for k, i in dict.fromkeys(e.sources)
    ]
    if rows:
        session.execute(insert(EventSource), rows)
    mentions = [
        dict(
            video_id=v,
            entity_id=resolved.ids[m.entity],
            event_id=event_ids[m.event] if event_ids else None,
            start_s=m.start_s,
            end_s=max(m.end_s, m.start_s),
            source_kind=m.source_kind.value,
            source_id=m.source_id,
            surface=m.surface,
            confidence=m.confidence,
        )
        for m in draft.mentions
    ]
    if mentions:
        session.execute(insert(Mention), mentions)
    relations = _relation_rows(draft, resolved, event_ids)
    if relations:
        session.execute(insert(Relation), relations)
    drop_orphans(session, touched)
    counts = _counts(draft, resolved, relations)
    version = session.execute(
        _RECORD, {"v": v, "seconds": seconds, "counts": json.dumps(counts)}
    ).scalar_one()
    return int(version), counts


def _insert_events(
    session: Session,
    draft: GraphDraft,
    vectors: Sequence[Sequence[float]] | None,
    model: str | None,
) -> list[int]:
    if not draft.events:
        return []
    rows = [
        dict(
            video_id=draft.video_id,
            start_s=e.start_s,
            end_s=e.end_s,
            kind="span",
            title=e.title,
            description=e.description,
            attributes={"spans": e.spans, "cut_before": e.cut_before, "index": e.index},
            embedding=[float(x) for x in vectors[e.index]] if vectors is not None else None,
            embedding_model=model if vectors is not None else None,
        )
        for e in draft.events
    ]
    stmt = insert(Event).returning(Event.id, sort_by_parameter_order=True)
    return list(session.execute(stmt, rows).scalars())


def _end(end: EdgeEnd, resolved: Resolved, event_ids: list[int]) -> tuple[int | None, int | None]:
    """(event id, entity id) of one end of an edge: exactly one is set."""
    if end.event is not None:
        return event_ids[end.event], None
    if end.entity_id is not None:
        return None, end.entity_id
    assert end.entity is not None
    return None, resolved.ids[end.entity]


def _relation_rows(
    draft: GraphDraft, resolved: Resolved, event_ids: list[int]
) -> list[dict[str, object]]:
    """Rows of the drafted relations, then a SAME_AS per alias (entity ids resolved)."""
    same_as = [
        RelationDraft(Predicate.SAME_AS, EdgeEnd(entity_id=alias), EdgeEnd(entity_id=target))
        for alias, target in resolved.aliases
    ]
    rows: list[dict[str, object]] = []
    for r in [*draft.relations, *same_as]:
        src_event, src_entity = _end(r.src, resolved, event_ids)
        dst_event, dst_entity = _end(r.dst, resolved, event_ids)
        source = r.source_kind is not None
        rows.append(
            dict(
                video_id=draft.video_id,
                predicate=r.predicate.value,
                src_event_id=src_event,
                src_entity_id=src_entity,
                dst_event_id=dst_event,
                dst_entity_id=dst_entity,
                confidence=r.confidence,
                start_s=r.start_s,
                end_s=r.end_s,
                attributes={"source_kind": r.source_kind, "source_id": r.source_id}
                if source
                else {},
            )
        )
    return rows


def _counts(
    draft: GraphDraft, resolved: Resolved, relations: list[dict[str, object]]
) -> dict[str, int]:
    counts: Counter[str] = Counter()
    counts["events"] = len(draft.events)
    counts["mentions"] = len(draft.mentions)
    per_kind: dict[str, set[int]] = {}
    for key, eid in resolved.ids.items():
        per_kind.setdefault(key.kind.value, set()).add(eid)
    counts["entities"] = sum(len(ids) for ids in per_kind.values())
    for kind, ids in per_kind.items():
        counts[f"entity:{kind}"] = len(ids)
    for row in relations:
        counts[f"relation:{row['predicate']}"] += 1
    return dict(sorted(counts.items()))
