"""Export a loaded graph for Gephi, Cytoscape or networkx users (GraphML or JSON)."""

from __future__ import annotations

import json
from enum import StrEnum
from io import BytesIO
from pathlib import Path

import networkx as nx


class ExportFormat(StrEnum):
    GRAPHML = "graphml"
    JSON = "json"


def _plain(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """GraphML takes scalars only: None becomes an absent attribute."""
    h = nx.MultiDiGraph()
    for n, a in g.nodes(data=True):
        h.add_node(n, **{k: v for k, v in a.items() if v is not None})
    for a, b, k, d in g.edges(keys=True, data=True):
        h.add_edge(a, b, key=k, **{x: v for x, v in d.items() if v is not None})
    return h


MEDIA_TYPES = {
    ExportFormat.GRAPHML: "application/graphml+xml",
    ExportFormat.JSON: "application/json",
}


def export_bytes(g: nx.MultiDiGraph, fmt: ExportFormat) -> bytes:
    """The file's content: what ``vidkg graph export`` writes and the API sends."""
    if fmt == ExportFormat.GRAPHML:
        buf = BytesIO()
        nx.write_graphml(_plain(g), buf)
        return buf.getvalue()
    data = nx.node_link_data(g, edges="edges")
    return json.dumps(data, indent=1, default=str).encode()


def export_graph(g: nx.MultiDiGraph, fmt: ExportFormat, out: Path) -> None:
    out.write_bytes(export_bytes(g, fmt))
