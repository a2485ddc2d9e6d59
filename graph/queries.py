"""Traversals over a loaded graph: what retrieval and the ``vidkg graph`` commands ask.

Every function takes a graph from :class:`graph.load.GraphCache` and returns frozen
records, so callers never handle networkx objects.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import networkx as nx

from graph.load import entity_node, event_node
from graph.types import Predicate

APPEARS = (Predicate.SHOWS.value, Predicate.MENTIONS.value)


class NodeNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Node:
    node: str  # event:ID or entity:ID
    type: str  # event | entity
    id: int
    name: str
    kind: str | None = None  # entity kind
    video_id: int | None = None  # events
    start_s: float | None = None
    end_s: float | None = None


@dataclass(frozen=True)
class Appearance:
    """One mention of an entity: in which event, when, from which evidence row."""

    entity_id: int
    video_id: int
    event_id: int
    start_s: float
    end_s: float
    predicate: str
    source_kind: str | None
    source_id: int | None


@dataclass(frozen=True)
class Link:
    """An edge as seen from one end: ``other`` is the far node."""

    predicate: str
    outgoing: bool
    other: Node
    start_s: float | None
    end_s: float | None


@dataclass(frozen=True)
class Ranked:
    node: Node
    score: float
    mentions: int
    events: int
    neighbours: int
    why: str


def node(g: nx.MultiDiGraph, node_id: str) -> Node:
    if node_id not in g:
        raise NodeNotFound(f"{node_id} is not in this graph")
    a = g.nodes[node_id]
    return Node(
        node_id,
        a["type"],
        a["id"],
        a["name"],
        a.get("kind"),
        a.get("video_id"),
        a.get("start_s"),
        a.get("end_s"),
    )


def timeline(g: nx.MultiDiGraph, entity_id: int) -> list[Appearance]:
    """Every appearance of an entity, in (video, time) order."""
    n = entity_node(entity_id)
    node(g, n)
    out = [
        Appearance(
            entity_id,
            d["video_id"],
            g.nodes[src]["id"],
            d["start_s"],
            d["end_s"],
            d["predicate"],
            d["source_kind"],
            d["source_id"],
        )
        for src, _, d in g.in_edges(n, data=True)
        if d["predicate"] in APPEARS
    ]
    return sorted(out, key=lambda a: (a.video_id, a.start_s, a.end_s))


def first_last(g: nx.MultiDiGraph, entity_id: int) -> tuple[Appearance, Appearance] | None:
    """The first and last appearance (per video order, then time); None when never seen."""
    seen = timeline(g, entity_id)
    return (seen[0], seen[-1]) if seen else None


def _step(g: nx.MultiDiGraph, n: str, outgoing: bool) -> str | None:
    edges = g.out_edges(n, data="predicate") if outgoing else g.in_edges(n, data="predicate")
    for a, b, predicate in edges:
        if predicate == Predicate.NEXT.value:
            return b if outgoing else a
    return None


def after(
    g: nx.MultiDiGraph, event_id: int, n: int = 1, *, said: bool = False, before: bool = False
) -> list[Node]:
    """The ``n`` events after (``before``: preceding) an event along ``NEXT``; ``said``:
    only events in which something is said."""
    cur = event_node(event_id)
    node(g, cur)
    out: list[Node] = []
    while len(out) < n and (cur := _step(g, cur, outgoing=not before)) is not None:
        if not said or g.nodes[cur].get("has_speech"):
            out.append(node(g, cur))
    return out


def after_entity(
    g: nx.MultiDiGraph, entity_id: int, n: int = 1, *, said: bool = False, last: bool = False
) -> list[Node]:
    """Events after an entity's first (``last``: last) appearance."""
    fl = first_last(g, entity_id)
    if fl is None:
        return []
    return after(g, (fl[1] if last else fl[0]).event_id, n, said=said)


def events_after_time(g: nx.MultiDiGraph, video_id: int, t: float, n: int = 1) -> list[Node]:
    """The first ``n`` events of a video that start at or after ``t`` seconds."""
    events = sorted(
        (a["start_s"], k)
        for k, a in g.nodes(data=True)
        if a["type"] == "event" and a["video_id"] == video_id and a["start_s"] >= t
    )
    return [node(g, k) for _, k in events[:n]]


def neighbours(g: nx.MultiDiGraph, node_id: str, hops: int = 1) -> list[tuple[int, Node]]:
    """Nodes within ``hops`` edges (either direction), with their distance, nearest first."""
    node(g, node_id)
    dist = nx.single_source_shortest_path_length(g.to_undirected(as_view=True), node_id, hops)
    return sorted(
        ((d, node(g, k)) for k, d in dist.items() if k != node_id), key=lambda x: (x[0], x[1].node)
    )


def links(g: nx.MultiDiGraph, node_id: str) -> list[Link]:
    """The node's edges, each seen from the node."""
    node(g, node_id)
    out = [
        Link(d["predicate"], True, node(g, b), d["start_s"], d["end_s"])
        for _, b, d in g.out_edges(node_id, data=True)
    ]
    out += [
        Link(d["predicate"], False, node(g, a), d["start_s"], d["end_s"])
        for a, _, d in g.in_edges(node_id, data=True)
    ]
    return out


def path(g: nx.MultiDiGraph, a: str, b: str) -> list[tuple[Node, str | None]]:
    """How two nodes are connected: the shortest path, each node with the predicate of
    the edge that reaches it (None for the first). Empty when unconnected."""
    node(g, a), node(g, b)
    try:
        nodes = nx.shortest_path(g.to_undirected(as_view=True), a, b)
    except nx.NetworkXNoPath:
        return []
    out: list[tuple[Node, str | None]] = [(node(g, nodes[0]), None)]
    for x, y in zip(nodes, nodes[1:], strict=False):
        data = g.get_edge_data(x, y) or g.get_edge_data(y, x)
        out.append((node(g, y), sorted(d["predicate"] for d in data.values())[0]))
    return out


def central(g: nx.MultiDiGraph, top: int = 10) -> list[Ranked]:
    """Entities ranked by PageRank over the event-entity graph (``NEXT`` and ``SAME_AS``
    left out), with the counts that explain the rank."""
    skip = {Predicate.NEXT.value, Predicate.SAME_AS.value, Predicate.DURING.value}
    h = nx.Graph()
    for a, b, predicate in g.edges(data="predicate"):
        if predicate not in skip:
            w = h.get_edge_data(a, b, {"weight": 0})["weight"]
            h.add_edge(a, b, weight=w + 1)
    if h.number_of_nodes() == 0:
        return []
    rank = nx.pagerank(h, weight="weight")
    out = []
    for k, score in rank.items():
        if g.nodes[k]["type"] != "entity" or g.nodes[k].get("alias_of"):
            continue
        preds = Counter(d["predicate"] for _, _, d in g.in_edges(k, data=True))
        mentions = preds[Predicate.SHOWS.value] + preds[Predicate.MENTIONS.value]
        events = len({a for a, _, d in g.in_edges(k, data=True) if d["predicate"] in APPEARS})
        others = len([x for x in h.neighbors(k) if g.nodes[x]["type"] == "entity"])
        why = f"{mentions} mention(s) in {events} event(s), co-occurs with {others} other entit" + (
            "y" if others == 1 else "ies"
        )
        out.append(Ranked(node(g, k), score, mentions, events, others, why))
    return sorted(out, key=lambda r: -r.score)[:top]
