"""``vidkg graph ...``: the event knowledge graph from the command line.

Thin: every command calls :class:`graph.service.GraphService` (or the rebuild service)
and prints its typed result as a table or, with ``--json``, as JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from api.cli.state import CliState, console, state
from graph.build import VideoNotFound
from graph.export import ExportFormat, export_graph
from graph.queries import Node, NodeNotFound
from graph.service import GraphService
from graph.types import EntityKind

app = typer.Typer(
    help="The event knowledge graph: entities, timelines, traversal, export.", no_args_is_help=True
)
out = console()
err = console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
VideoOpt = Annotated[int | None, typer.Option("--video", help="Only this video.")]


def _service(cli: CliState) -> GraphService:
    return GraphService(cli.db.sessions, cli.settings.graph.cache_graphs)


def _emit(data: Any, as_json: bool, table: Table | None = None) -> None:
    if as_json:
        print(json.dumps(data, indent=2, default=str))
    elif table is not None:
        out.print(table)


def _fail(message: str) -> NoReturn:
    err.print(message, highlight=False)
    raise typer.Exit(1)


def _node_row(n: Node) -> list[str]:
    when = "" if n.start_s is None else f"{n.start_s:.2f}-{n.end_s:.2f}"
    return [n.node, n.kind or n.type, n.name, "" if n.video_id is None else str(n.video_id), when]


@app.command()
def entities(
    ctx: typer.Context,
    video: VideoOpt = None,
    kind: Annotated[EntityKind | None, typer.Option(help="Only entities of this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100000, help="At most this many.")] = 1000,
    as_json: JsonOpt = False,
) -> None:
    """Entities with their first and last appearance, mentions and videos."""
    rows = _service(state(ctx)).entities(video, kind, limit)
    table = Table("id", "kind", "name", "first_s", "last_s", "mentions", "videos")
    for e in rows:
        table.add_row(
            str(e.id),
            e.kind,
            e.name,
            f"{e.first_s:.2f}",
            f"{e.last_s:.2f}",
            str(e.mentions),
            ",".join(map(str, e.videos)),
        )
    _emit([asdict(e) for e in rows], as_json, table)


@app.command()
def timeline(
    ctx: typer.Context, entity_id: int, video: VideoOpt = None, as_json: JsonOpt = False
) -> None:
    """Every appearance of an entity: video, event, times and the evidence row."""
    try:
        rows = _service(state(ctx)).timeline(entity_id, video)
    except NodeNotFound as exc:
        _fail(str(exc))
    table = Table("video", "event", "start_s", "end_s", "edge", "evidence")
    for a in rows:
        table.add_row(
            str(a.video_id),
            str(a.event_id),
            f"{a.start_s:.2f}",
            f"{a.end_s:.2f}",
            a.predicate,
            f"{a.source_kind}:{a.source_id}",
        )
    _emit([asdict(a) for a in rows], as_json, table)


@app.command()
def neighbors(
    ctx: typer.Context,
    node: Annotated[str, typer.Argument(help="event:ID or entity:ID")],
    hops: Annotated[int, typer.Option(min=1, max=6, help="How many edges away.")] = 1,
    video: VideoOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Nodes within HOPS edges of NODE (an entity's across the library unless --video)."""
    try:
        rows = _service(state(ctx)).neighbours(node, hops, video)
    except (NodeNotFound, ValueError) as exc:
        _fail(str(exc))
    table = Table("hops", "node", "kind", "name", "video", "time")
    for d, n in rows:
        table.add_row(str(d), *_node_row(n))
    _emit([{"hops": d, **asdict(n)} for d, n in rows], as_json, table)


@app.command()
def after(
    ctx: typer.Context,
    event_id: int,
    n: Annotated[int, typer.Option("--n", min=1, max=1000, help="How many events.")] = 1,
    said: Annotated[bool, typer.Option(help="Only events in which something is said.")] = False,
    before: Annotated[bool, typer.Option(help="Preceding events instead.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The events after (or before) an event, along the video's NEXT chain."""
    try:
        rows = _service(state(ctx)).after(event_id, n, said=said, before=before)
    except NodeNotFound as exc:
        _fail(str(exc))
    table = Table("node", "kind", "title", "video", "time")
    for x in rows:
        table.add_row(*_node_row(x))
    _emit([asdict(x) for x in rows], as_json, table)


@app.command()
def path(
    ctx: typer.Context, a: str, b: str, video: VideoOpt = None, as_json: JsonOpt = False
) -> None:
    """How two nodes are connected (shortest path; nothing when they are not)."""
    try:
        steps = _service(state(ctx)).path(a, b, video)
    except (NodeNotFound, ValueError) as exc:
        _fail(str(exc))
    table = Table("via", "node", "kind", "name", "video", "time")
    for n, via in steps:
        table.add_row(via or "", *_node_row(n))
    _emit([{"via": via, **asdict(n)} for n, via in steps], as_json, table)


@app.command()
def central(
    ctx: typer.Context,
    video: VideoOpt = None,
    top: Annotated[int, typer.Option(min=1, max=1000)] = 10,
    as_json: JsonOpt = False,
) -> None:
    """The most central entities (PageRank over events and entities), with why."""
    rows = _service(state(ctx)).central(video, top)
    table = Table("node", "kind", "name", "score", "why")
    for r in rows:
        table.add_row(r.node.node, r.node.kind or "", r.node.name, f"{r.score:.4f}", r.why)
    _emit([{**asdict(r.node), "score": r.score, "why": r.why} for r in rows], as_json, table)


@app.command("export")
def export(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Where to write.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="graphml or json")] = (
        ExportFormat.GRAPHML
    ),
    video: VideoOpt = None,
) -> None:
    """Write the graph (a video's, or the library's) as GraphML or node-link JSON."""
    if not file.parent.is_dir():
        _fail(f"cannot write {file}: folder {file.parent} does not exist")
    g = _service(state(ctx)).graph(video)
    export_graph(g, fmt, file)
    out.print(f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges -> {file}")


@app.command()
def rebuild(ctx: typer.Context, video: VideoOpt = None, as_json: JsonOpt = False) -> None:
    """Rebuild the graph from stored evidence (one video, or every video), re-extracting
    nothing."""
    from indexer.graph_step import rebuild_graphs

    cli = state(ctx)
    try:
        results = rebuild_graphs(cli.db, cli.settings, cli.registry, video)
    except VideoNotFound as exc:
        _fail(str(exc))
    table = Table("video", "seconds", "events", "entities", "mentions", "relations")
    for r in results:
        rel = sum(v for k, v in r.counts.items() if k.startswith("relation:"))
        table.add_row(
            str(r.video_id),
            f"{r.seconds:.2f}",
            str(r.counts.get("events", 0)),
            str(r.counts.get("entities", 0)),
            str(r.counts.get("mentions", 0)),
            str(rel),
        )
    _emit([asdict(r) for r in results], as_json, table)
