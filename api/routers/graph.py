"""The event knowledge graph: entities, an entity's timeline, neighbours, what happened
after or before an event, paths, central entities, and exports.

Every handler calls :class:`graph.service.GraphService` (``app.graph``), exactly as
``vidkg graph ...`` does, so the CLI and the API cannot disagree.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.auth import Reader
from api.defs.common import Page
from api.defs.graph import (
    AppearanceOut,
    EntityOut,
    NeighbourOut,
    NodeOut,
    PathStepOut,
    RankedOut,
)
from api.deps import AppServices, Services
from api.evidence import video_exists
from api.problems import Problem
from graph.export import MEDIA_TYPES, ExportFormat, export_bytes
from graph.queries import NodeNotFound
from graph.service import EntityFilter
from graph.text import canonical
from graph.types import EntityKind

router = APIRouter(prefix="/v1/graph", tags=["graph"])

VideoScope = Annotated[
    int | None, Query(ge=1, le=2**63 - 1, description="Only this video (default: the library).")
]
Hops = Annotated[int, Query(ge=1, le=3, description="How many edges away.")]
Count = Annotated[int, Query(ge=1, le=1000, description="How many events.")]
Said = Annotated[bool, Query(description="Only events in which something is said.")]


def _known(kind: str, raw: int) -> int:
    """An id that can be a row's (a bigint above 0); else 404, as for a missing row."""
    if not 0 < raw < 2**63:
        raise Problem(404, f"no {kind} {raw}")
    return raw


def _scope(app: AppServices, video_id: int | None) -> int | None:
    if video_id is not None and not video_exists(app.db.sessions, video_id):
        raise Problem(404, f"no video {video_id}")
    return video_id


@router.get("/entities", response_model=Page[EntityOut])
def entities(
    _: Reader,
    app: Services,
    kind: Annotated[EntityKind | None, Query(description="Only entities of this kind.")] = None,
    name: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Name contains this (case and punctuation ignored).",
        ),
    ] = None,
    fuzzy: Annotated[
        bool, Query(description="Match `name` by similarity instead (misread or misheard).")
    ] = False,
    video_id: VideoScope = None,
    limit: Annotated[
        int, Query(ge=1, le=100_000, description="At most VIDKG_API__PAGE_MAX.")
    ] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> Page[EntityOut]:
    """Entities with their first and last appearance, mentions and videos, in order of
    first appearance."""
    if limit > app.settings.api.page_max:
        raise Problem(422, f"limit: at most {app.settings.api.page_max}")
    if name is not None and not canonical(name):
        raise Problem(422, "name: needs a letter or a digit")
    where = EntityFilter(_scope(app, video_id), kind, name, fuzzy)
    page = app.graph.entity_page(where, limit, offset)
    items = [EntityOut.model_validate(e) for e in page.items]
    return Page[EntityOut].of(items, page.total, offset, limit)


@router.get("/entities/{entity_id}/timeline", response_model=list[AppearanceOut])
def timeline(
    entity_id: int, _: Reader, app: Services, video_id: VideoScope = None
) -> list[AppearanceOut]:
    """Every appearance of an entity: video, event, times and the evidence row."""
    try:
        rows = app.graph.timeline(_known("entity", entity_id), _scope(app, video_id))
    except NodeNotFound as exc:
        raise Problem(404, str(exc)) from None
    return [AppearanceOut.model_validate(a) for a in rows]


@router.get("/entities/{entity_id}/neighbours", response_model=list[NeighbourOut])
def entity_neighbours(
    entity_id: int, _: Reader, app: Services, hops: Hops = 1, video_id: VideoScope = None
) -> list[NeighbourOut]:
    """Nodes within `hops` edges of an entity (across the library unless `video_id`),
    nearest first."""
    return _neighbours(app, f"entity:{_known('entity', entity_id)}", hops, _scope(app, video_id))


@router.get("/events/{event_id}/neighbours", response_model=list[NeighbourOut])
def event_neighbours(event_id: int, _: Reader, app: Services, hops: Hops = 1) -> list[NeighbourOut]:
    """Nodes within `hops` edges of an event (in its video), nearest first."""
    return _neighbours(app, f"event:{_known('event', event_id)}", hops, None)


def _neighbours(app: AppServices, node: str, hops: int, video_id: int | None) -> list[NeighbourOut]:
    try:
        rows = app.graph.neighbours(node, hops, video_id)
    except NodeNotFound as exc:
        raise Problem(404, str(exc)) from None
    return [NeighbourOut(hops=d, node=NodeOut.model_validate(n)) for d, n in rows]


@router.get("/events/{event_id}/after", response_model=list[NodeOut])
def after(
    event_id: int, _: Reader, app: Services, n: Count = 1, said: Said = False
) -> list[NodeOut]:
    """The `n` events after an event, nearest first, along its video's NEXT chain."""
    return _after(app, event_id, n, said, before=False)


@router.get("/events/{event_id}/before", response_model=list[NodeOut])
def before(
    event_id: int, _: Reader, app: Services, n: Count = 1, said: Said = False
) -> list[NodeOut]:
    """The `n` events before an event, nearest first."""
    return _after(app, event_id, n, said, before=True)


def _after(app: AppServices, event_id: int, n: int, said: bool, before: bool) -> list[NodeOut]:
    try:
        rows = app.graph.after(_known("event", event_id), n, said=said, before=before)
    except NodeNotFound as exc:
        raise Problem(404, str(exc)) from None
    return [NodeOut.model_validate(x) for x in rows]


Node = Annotated[
    str,
    Query(
        min_length=3,
        max_length=40,
        pattern=r"^(entity|event):[0-9]{1,19}$",
        description="entity:ID or event:ID",
    ),
]


@router.get("/path", response_model=list[PathStepOut])
def path(
    a: Node, b: Node, _: Reader, app: Services, video_id: VideoScope = None
) -> list[PathStepOut]:
    """How two nodes are connected: the shortest path (empty when they are not), as
    `vidkg graph path` prints it."""
    try:
        steps = app.graph.path(a, b, _scope(app, video_id))
    except (NodeNotFound, ValueError) as exc:
        raise Problem(404, str(exc)) from None
    return [PathStepOut(via=via, node=NodeOut.model_validate(n)) for n, via in steps]


@router.get("/central", response_model=list[RankedOut])
def central(
    _: Reader,
    app: Services,
    video_id: VideoScope = None,
    top: Annotated[int, Query(ge=1, le=1000, description="How many entities.")] = 10,
) -> list[RankedOut]:
    """The most central entities (PageRank over events and entities), with why."""
    return [RankedOut.model_validate(r) for r in app.graph.central(_scope(app, video_id), top)]


EXPORT_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The graph file (GraphML, or networkx node-link JSON).",
        "content": {media: {} for media in MEDIA_TYPES.values()},
    }
}


@router.get("/export", response_class=Response, responses=EXPORT_RESPONSES)
def export(
    _: Reader,
    app: Services,
    format: Annotated[ExportFormat, Query(description="graphml or json")] = ExportFormat.GRAPHML,
    video_id: VideoScope = None,
) -> Response:
    """A video's graph (or the library's) as GraphML for Gephi or Cytoscape, or as
    node-link JSON for networkx: the file `vidkg graph export` writes."""
    scope = _scope(app, video_id)
    body = export_bytes(app.graph.graph(scope), format)
    name = f"vidkg-graph-{'library' if scope is None else f'video-{scope}'}.{format.value}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=MEDIA_TYPES[format], headers=headers)
