"""Operations: liveness, readiness and Prometheus metrics (no key needed: they hold no
data, and probes and scrapers carry none)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.defs.ops import Health, Readiness
from api.deps import Services
from api.readiness import readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process answers."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready (the body says why)."}},
)
def readyz(app: Services) -> Response:
    """Database and broker reachable, schema current. 503 when any is not."""
    state = readiness(app.db, app.settings)
    return JSONResponse(state.model_dump(), status_code=200 if state.ready else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(app: Services) -> Response:
    """Prometheus metrics: request latency by route, search/ask latency, jobs and units
    by state."""
    return Response(generate_latest(app.metrics.registry), media_type=CONTENT_TYPE_LATEST)
