"""Every router of the API, one module per domain; adding a domain is one file and one
line here (the app includes exactly this list)."""

from __future__ import annotations

from fastapi import APIRouter

from api.routers import evidence, graph, jobs, me, media, ops, search, sql, videos, watches

ROUTERS: list[APIRouter] = [
    ops.router,
    me.router,
    videos.router,
    media.router,
    evidence.router,
    graph.router,
    watches.router,
    jobs.router,
    search.router,
    sql.router,
]
