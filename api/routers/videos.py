"""Videos: upload or register, list, get, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from api.auth import Admin, Ingester, Reader
from api.defs.common import Page, VideoId
from api.defs.jobs import JobOut
from api.defs.videos import Registered, RegisterPath, VideoDetail, VideoOut
from api.deps import AppServices, Services
from api.jobs_service import progress, start_job
from api.library import get_video, list_videos
from api.media import forget
from api.problems import Problem, documented
from api.uploads import receive_upload, resolve_registrable
from indexer.catalog import Registration, delete_video, register_video
from indexer.probe import ProbeError

router = APIRouter(prefix="/v1/videos", tags=["videos"])
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        "application/json": {"schema": RegisterPath.model_json_schema()},
    },
}


@router.post(
    "",
    status_code=201,
    response_model=Registered,
    openapi_extra={"requestBody": UPLOAD_BODY},
    responses={
        200: {"model": Registered, "description": "Already registered (same bytes)."},
        **documented(413, 415, 503),
    },
)
async def add_video(
    request: Request,
    app: Services,
    _: Ingester,
    ingest: Annotated[bool, Query(description="Multipart: start the ingest job at once.")] = True,
    stages: Annotated[
        str | None, Query(max_length=200, description="Multipart: comma-separated stages.")
    ] = None,
) -> JSONResponse:
    """Upload a video (multipart field `file`, streamed, size-capped, probed) or register
    a file on the server (JSON `{"path": ...}`, only inside VIDKG_API__REGISTER_ROOTS).
    A refused upload leaves nothing behind."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        reg = await receive_upload(request, app.db.sessions, app.settings)
        wanted = stages.split(",") if stages else None
    elif kind == "application/json":
        body = await _register_body(request)
        reg = _register_path(app, body.path)
        ingest, wanted = body.ingest, body.stages
    else:
        raise Problem(415, "send multipart/form-data (field 'file') or JSON {\"path\": ...}")
    job = start_job(app.db, app.settings, reg.video_id, wanted)[0] if ingest else None
    out = Registered(
        video=_detail(app, reg.video_id),
        created=reg.created,
        job=JobOut(**progress(app.db, job).to_json()) if job else None,
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if reg.created else 200)


async def _register_body(request: Request) -> RegisterPath:
    try:
        return RegisterPath.model_validate_json(await request.body())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise Problem(422, f"{where}: {first['msg']}") from None


def _register_path(app: AppServices, raw: str) -> Registration:
    path = resolve_registrable(raw, app.settings)
    try:
        return register_video(app.db.sessions, app.settings, path)
    except ProbeError as exc:
        raise Problem(415, f"not a video vidkg can index: {exc.detail}") from None


@router.get("", response_model=Page[VideoOut])
def videos(
    app: Services,
    _: Reader,
    status: Annotated[
        str | None, Query(max_length=20, description="Only videos in this status.")
    ] = None,
    name: Annotated[
        str | None, Query(max_length=200, description="File name contains this.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> Page[VideoOut]:
    """Videos by id, with their status and what was extracted."""
    rows, total = list_videos(app.db.sessions, status=status, name=name, limit=limit, offset=offset)
    return Page[VideoOut].of([VideoOut(**r) for r in rows], total, offset, limit)


@router.get("/{video_id}", response_model=VideoDetail)
def video(
    video_id: VideoId,
    app: Services,
    _: Reader,
) -> VideoDetail:
    return _detail(app, video_id)


@router.delete("/{video_id}", status_code=204, response_class=Response)
def remove_video(
    video_id: VideoId,
    app: Services,
    _: Admin,
) -> Response:
    """Delete a video: its rows, derived files, cached clips and frames, and the file
    itself if it was uploaded (a registered server path is left in place)."""
    sha256 = _detail(app, video_id).sha256
    if not delete_video(app.db.sessions, app.settings, video_id):
        raise Problem(404, f"no video {video_id}")
    forget(app.settings, sha256)
    return Response(status_code=204)


def _detail(app: AppServices, video_id: int) -> VideoDetail:
    row = get_video(app.db.sessions, video_id)
    if row is None:
        raise Problem(404, f"no video {video_id}")
    return VideoDetail(**row)
