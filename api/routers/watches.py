"""Watches: create a standing query (with an optional webhook), list, get, delete, and
read its hits. Matching happens during ingest (``indexer.watches``).

Anyone with the ingest scope can make this server POST to a URL of their choosing
(SSRF): link-local addresses (cloud metadata) are refused, redirects are not followed,
loopback and private networks are allowed. Restrict egress where that matters.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.auth import Ingester, Reader
from api.defs.common import Page
from api.defs.watches import WatchCreate, WatchCreated, WatchHitOut, WatchOut
from api.deps import AppServices, Services
from api.problems import Problem
from api.watches_service import (
    UnknownVideos,
    WatchInfo,
    create_watch,
    deactivate_watch,
    get_watch,
    list_hits,
    list_watches,
)

router = APIRouter(prefix="/v1/watches", tags=["watches"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=2**31)]


@router.post("", status_code=201, response_model=WatchCreated)
def add_watch(body: WatchCreate, app: Services, _: Ingester) -> WatchCreated:
    """Create a watch; every chunk indexed from now on is matched against it. The
    response holds the webhook secret, which is never shown again."""
    try:
        new = create_watch(
            app.db.sessions,
            query=body.query,
            sources=list(body.sources),
            name=body.name,
            video_ids=body.video_ids,
            webhook_url=body.webhook_url,
            secret=body.secret,
        )
    except UnknownVideos as exc:
        raise Problem(422, f"video_ids: {exc}") from None
    return WatchCreated(**asdict(new.info), secret=new.secret)


@router.get("", response_model=Page[WatchOut])
def watches(
    app: Services,
    _: Reader,
    active: Annotated[bool | None, Query(description="Only active (or deleted) ones.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[WatchOut]:
    """Watches by id (never their secrets)."""
    limit = min(limit, app.settings.api.page_max)
    rows, total = list_watches(app.db.sessions, active=active, limit=limit, offset=offset)
    return Page[WatchOut].of([WatchOut(**asdict(r)) for r in rows], total, offset, limit)


@router.get("/{watch_id}", response_model=WatchOut)
def watch(watch_id: int, app: Services, _: Reader) -> WatchOut:
    return WatchOut(**asdict(_known(app, watch_id)))


@router.delete("/{watch_id}", status_code=204, response_class=Response)
def remove_watch(watch_id: int, app: Services, _: Ingester) -> Response:
    """Deactivate a watch: it stops matching and undelivered hits are dropped; it and
    its hits stay readable."""
    if not (0 < watch_id < 2**63 and deactivate_watch(app.db.sessions, watch_id)):
        raise Problem(404, f"no watch {watch_id}")
    return Response(status_code=204)


@router.get("/{watch_id}/hits", response_model=Page[WatchHitOut])
def hits(
    watch_id: int, app: Services, _: Reader, limit: Limit = 100, offset: Offset = 0
) -> Page[WatchHitOut]:
    """What the watch matched, by video and time, with each webhook delivery's state."""
    _known(app, watch_id)
    limit = min(limit, app.settings.api.page_max)
    rows, total = list_hits(app.db.sessions, watch_id, limit=limit, offset=offset)
    return Page[WatchHitOut].of([WatchHitOut(**asdict(r)) for r in rows], total, offset, limit)


def _known(app: AppServices, watch_id: int) -> WatchInfo:
    found = get_watch(app.db.sessions, watch_id) if 0 < watch_id < 2**63 else None
    if found is None:
        raise Problem(404, f"no watch {watch_id}")
    return found
