"""Load a video's graph (or the whole library's) from PostgreSQL into networkx, cached.

Nodes are ``event:ID`` and ``entity:ID``; every relation is an edge of a
``MultiDiGraph`` with its predicate, times and evidence row. A loaded graph is kept
until its video is rebuilt or deleted: ``graph_builds.version`` changes with every
build, so one cheap query tells whether the cached copy is current.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import networkx as nx
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session, sessionmaker

_VERSION = text(
    "SELECT coalesce(max(version), 0), count(*) FROM graph_builds "
    "WHERE (CAST(:v AS bigint) IS NULL OR video_id = :v)"
)
_EVENTS = text(
    "SELECT e.id, e.video_id, e.start_s, e.end_s, e.title, "
    "EXISTS (SELECT 1 FROM event_sources s WHERE s.event_id = e.id "
    "        AND s.source_kind = 'speech_segments') AS has_speech, "
    "EXISTS (SELECT 1 FROM event_sources s WHERE s.event_id = e.id "
    "        AND s.source_kind = 'onscreen_text') AS has_text "
    "FROM events e WHERE (CAST(:v AS bigint) IS NULL OR e.video_id = :v) ORDER BY e.id"
)
_RELATIONS = text(
    "SELECT video_id, predicate, src_event_id, src_entity_id, dst_event_id, dst_entity_id, "
    "start_s, end_s, confidence, attributes->>'source_kind', "
    "(attributes->>'source_id')::bigint FROM relations "
    "WHERE (CAST(:v AS bigint) IS NULL OR video_id = :v) ORDER BY id"
)
_ENTITIES = text(
    "SELECT id, kind, name, (attributes->>'alias_of')::bigint FROM entities WHERE id IN :ids"
).bindparams(bindparam("ids", expanding=True))


def event_node(event_id: int) -> str:
    return f"event:{event_id}"


def entity_node(entity_id: int) -> str:
    return f"entity:{entity_id}"


def parse_node(node: str) -> str:
    """``event:12`` / ``entity:5`` (also ``e12`` / ``n5``) -> the node id; ValueError else."""
    raw = node.strip().lower()
    for prefix, kind in (
        ("event:", "event"),
        ("entity:", "entity"),
        ("e", "event"),
        ("n", "entity"),
    ):
        rest = raw.removeprefix(prefix)
        if rest != raw and rest.isdigit():
            return f"{kind}:{int(rest)}"
    raise ValueError(f"not a node: {node!r} (write event:ID or entity:ID)")


def load_graph(session: Session, video_id: int | None) -> nx.MultiDiGraph:
    """The graph of one video, or of the library when ``video_id`` is None."""
    g = nx.MultiDiGraph(video_id=video_id)
    p = {"v": video_id}
    for eid, vid, a, b, title, speech, shown in session.execute(_EVENTS, p):
        g.add_node(
            event_node(eid),
            type="event",
            id=eid,
            video_id=vid,
            start_s=a,
            end_s=b,
            name=title,
            has_speech=speech,
            has_text=shown,
        )
    entity_ids: set[int] = set()
    for row in session.execute(_RELATIONS, p):
        vid, pred, se, sn, de, dn, a, b, conf, skind, sid = row
        src = event_node(se) if se is not None else entity_node(sn)
        dst = event_node(de) if de is not None else entity_node(dn)
        entity_ids.update(x for x in (sn, dn) if x is not None)
        g.add_edge(
            src,
            dst,
            predicate=pred,
            video_id=vid,
            start_s=a,
            end_s=b,
            confidence=conf,
            source_kind=skind,
            source_id=sid,
        )
    if entity_ids:
        for eid, kind, name, alias_of in session.execute(_ENTITIES, {"ids": sorted(entity_ids)}):
            g.add_node(
                entity_node(eid), type="entity", id=eid, kind=kind, name=name, alias_of=alias_of
            )
    return g


class GraphCache:
    """Loaded graphs per scope (a video id, or None for the library), kept while current."""

    def __init__(self, sessions: sessionmaker[Session], size: int = 32) -> None:
        self.sessions = sessions
        self.size = size
        self._graphs: OrderedDict[int | None, tuple[Any, nx.MultiDiGraph]] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0  # how many times a graph was read from the database

    def get(self, video_id: int | None = None) -> nx.MultiDiGraph:
        with self.sessions() as s:
            version = tuple(s.execute(_VERSION, {"v": video_id}).one())
            with self._lock:
                cached = self._graphs.get(video_id)
                if cached is not None and cached[0] == version:
                    self._graphs.move_to_end(video_id)
                    return cached[1]
            g = load_graph(s, video_id)
        with self._lock:
            self.loads += 1
            self._graphs[video_id] = (version, g)
            self._graphs.move_to_end(video_id)
            while len(self._graphs) > self.size:
                self._graphs.popitem(last=False)
        return g
