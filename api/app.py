"""The HTTP API: one FastAPI app, routers per domain under ``/v1``, problem details for
every error, API keys on every data route.

Built once per process by :func:`create_app`: the database is opened and the models
(the query embedder) are loaded at start-up, never in a request handler. Handlers are
thin: they validate, call the same service functions as the CLI, and shape the answer
with the typed models of ``api/defs``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api import problems, web
from api.auth import RateLimiter
from api.deps import AppServices
from api.limits import BodyLimit
from api.metrics import Metrics, MetricsMiddleware
from api.routers import ROUTERS
from api.services import retrieval_service
from graph.service import GraphService
from indexer.models import ModelRegistry
from vidkg.db import open_database
from vidkg.settings import Settings, get_settings

DESCRIPTION = """
Search, ask and browse long videos indexed by vidkg.

Every `/v1` route needs an API key (`vidkg apikeys create --scopes read,ingest`), sent as
`Authorization: Bearer KEY`, unless the server runs with `VIDKG_API__OPEN=true`.
Scopes: `read` (search, ask, evidence, media, graph, SQL), `ingest` (upload, register,
jobs, watches), `admin` (everything, and deleting videos).
Errors are RFC 7807 problem details (`application/problem+json`).
"""


def create_app(settings: Settings | None = None, registry: ModelRegistry | None = None) -> FastAPI:
    """The app over ``settings``' database, opened (and migrated) at start-up, not here;
    ``registry`` lends models already loaded (tests share one), else the process loads
    its own at start-up."""
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = open_database(settings)
        app.state.db = db
        metrics.watch(db.sessions)
        models = registry or ModelRegistry(settings.indexer, settings.model_cache_dir)
        graph = GraphService(db.sessions, settings.graph.cache_graphs)
        app.state.services = AppServices(
            settings,
            db,
            models,
            graph,
            retrieval_service(settings, db, models, graph),
            metrics,
        )
        try:
            yield
        finally:
            db.dispose()

    app = FastAPI(
        title="vidkg",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=problems.PROBLEM_RESPONSES,
    )
    # Read by the auth dependency (the database is added by the lifespan).
    app.state.settings = settings
    app.state.limiter = RateLimiter(settings.api.rate_limit_per_minute)
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    web.install(app)  # the UI at / (static files; not in the OpenAPI document)
    uploads = frozenset({("POST", "/v1/videos")})
    app.add_middleware(BodyLimit, limit=settings.api.max_body_kb * 1024, exempt=uploads)
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Range"],
            expose_headers=["Content-Range", "Accept-Ranges", "Content-Length"],
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
