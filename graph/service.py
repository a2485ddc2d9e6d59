"""Graph questions the CLI and the HTTP API share: listings in SQL, traversals in networkx.

One :class:`GraphService` per process holds the networkx cache; every face (CLI, HTTP,
retrieval) calls these methods, never SQL of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from graph import queries
from graph.load import GraphCache, parse_node
from graph.text import canonical
from graph.types import EntityKind

# One query pages and counts: the count row is always there, the page may be empty.
_ENTITIES = text(
    "WITH hits AS ("
    "  SELECT e.id, e.kind, e.name, min(m.start_s) AS first_s, max(m.end_s) AS last_s, "
    "         count(*) AS mentions, array_agg(DISTINCT m.video_id ORDER BY m.video_id) AS videos "
    "  FROM entities e JOIN mentions m ON m.entity_id = e.id "
    "  WHERE (CAST(:v AS bigint) IS NULL OR m.video_id = :v) "
    "    AND (CAST(:kind AS text) IS NULL OR e.kind = :kind) "
    "    AND (CAST(:part AS text) IS NULL OR e.canonical_name LIKE '%' || :part || '%') "
    "    AND (CAST(:fuzzy AS text) IS NULL "
    "         OR word_similarity(:fuzzy, e.canonical_name) >= :similarity) "
    "  GROUP BY e.id, e.kind, e.name) "
    "SELECT p.id, p.kind, p.name, p.first_s, p.last_s, p.mentions, p.videos, n.total "
    "FROM (SELECT count(*) AS total FROM hits) n LEFT JOIN LATERAL ("
    "  SELECT * FROM hits ORDER BY videos[1], first_s, id LIMIT :limit OFFSET :offset"
    ") p ON true ORDER BY p.videos[1], p.first_s, p.id"
)
_EVENT_VIDEO = text("SELECT video_id FROM events WHERE id = :id")
_ENTITY_EXISTS = text("SELECT 1 FROM entities WHERE id = :id")


@dataclass(frozen=True)
class EntitySummary:
    """An entity in the scope asked for: when its first mention starts and its last one
    ends (seconds; with several videos, over all of them), how often, in which videos."""

    id: int
    kind: str
    name: str
    first_s: float
    last_s: float
    mentions: int
    videos: list[int]


@dataclass(frozen=True)
class EntityFilter:
    """Which entities to list. ``name`` matches canonical forms (case and punctuation
    ignored): as a substring, or with ``fuzzy`` by trigram word similarity (OCR and
    speech misspell names)."""

    video_id: int | None = None
    kind: EntityKind | None = None
    name: str | None = None
    fuzzy: bool = False


@dataclass(frozen=True)
class EntityPage:
    items: list[EntitySummary]
    total: int  # matching entities over all pages


FUZZY_SIMILARITY = 0.5  # pg_trgm word_similarity a fuzzy name match needs


class GraphService:
    def __init__(self, sessions: sessionmaker[Session], cache_graphs: int = 32) -> None:
        self.sessions = sessions
        self.cache = GraphCache(sessions, cache_graphs)

    def entities(
        self, video_id: int | None = None, kind: EntityKind | None = None, limit: int = 1000
    ) -> list[EntitySummary]:
        return self.entity_page(EntityFilter(video_id, kind), limit).items

    def entity_page(self, where: EntityFilter, limit: int = 1000, offset: int = 0) -> EntityPage:
        """Entities in (first video, first appearance, id) order, with the total."""
        form = canonical(where.name) if where.name is not None else None
        params = {
            "v": where.video_id,
            "kind": where.kind.value if where.kind else None,
            "part": None if where.fuzzy else form,
            "fuzzy": form if where.fuzzy else None,
            "similarity": FUZZY_SIMILARITY,
            "limit": limit,
            "offset": offset,
        }
        with self.sessions() as s:
            rows = s.execute(_ENTITIES, params).all()
        items = [EntitySummary(*r[:6], list(r[6])) for r in rows if r[0] is not None]
        return EntityPage(items, int(rows[0][7]))

    def graph(self, video_id: int | None = None) -> nx.MultiDiGraph:
        """The video's graph, or the library's (None); cached until rebuilt."""
        return self.cache.get(video_id)

    def graph_of(self, node: str, video_id: int | None = None) -> tuple[str, nx.MultiDiGraph]:
        """The node id and the smallest graph that holds it: an event's video, else
        ``video_id``'s graph, else the library's."""
        node = parse_node(node)
        kind, _, raw = node.partition(":")
        with self.sessions() as s:
            if kind == "event":
                found = s.execute(_EVENT_VIDEO, {"id": int(raw)}).scalar_one_or_none()
                if found is None:
                    raise queries.NodeNotFound(f"no event {raw}")
                video_id = found
            elif s.execute(_ENTITY_EXISTS, {"id": int(raw)}).first() is None:
                raise queries.NodeNotFound(f"no entity {raw}")
        return node, self.graph(video_id)

    def timeline(self, entity_id: int, video_id: int | None = None) -> list[queries.Appearance]:
        node, g = self.graph_of(f"entity:{entity_id}", video_id)
        return queries.timeline(g, entity_id) if node in g else []

    def after(
        self, event_id: int, n: int = 1, *, said: bool = False, before: bool = False
    ) -> list[queries.Node]:
        _, g = self.graph_of(f"event:{event_id}")
        return queries.after(g, event_id, n, said=said, before=before)

    def neighbours(
        self, node: str, hops: int = 1, video_id: int | None = None
    ) -> list[tuple[int, queries.Node]]:
        node, g = self.graph_of(node, video_id)
        return queries.neighbours(g, node, hops) if node in g else []

    def path(
        self, a: str, b: str, video_id: int | None = None
    ) -> list[tuple[queries.Node, str | None]]:
        a, b = parse_node(a), parse_node(b)
        return queries.path(self.graph(video_id), a, b)

    def central(self, video_id: int | None = None, top: int = 10) -> list[queries.Ranked]:
        return queries.central(self.graph(video_id), top)
