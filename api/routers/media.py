"""Media: a video's file, clips and frame images, for a browser's ``<video>`` and ``<img>``.

Every response is a file served with byte ranges (``Accept-Ranges: bytes``, 206 with
``Content-Range``, 416 past the end), so a player can seek. Handlers are plain ``def``:
FastAPI runs them in its thread pool, so a transcode never blocks the event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from api import media
from api.auth import Reader
from api.deps import AppServices, Services
from api.problems import Problem

router = APIRouter(prefix="/v1/videos", tags=["media"])

GONE = {410: {"description": "The video is registered but its file is gone."}}
RANGES = {206: {"description": "The requested byte range."}, 416: {"description": "Past the end."}}


def _source(app: AppServices, video_id: int) -> media.Source:
    src = media.find_source(app.db.sessions, video_id)
    if src is None:
        raise Problem(404, f"no video {video_id}")
    return src


@contextmanager
def _answered() -> Iterator[None]:
    """The media service's typed errors, answered as problem details."""
    try:
        yield
    except media.SourceMissing as exc:
        raise Problem(410, str(exc)) from None
    except media.MediaError as exc:
        raise Problem(422, str(exc)) from None


@router.get(
    "/{video_id}/file",
    response_class=FileResponse,
    responses={
        200: {"content": {"video/*": {}, "audio/*": {}, "application/octet-stream": {}}},
        **RANGES,
        **GONE,
    },
)
def video_file(video_id: int, app: Services, _: Reader) -> FileResponse:
    """The source file as registered, with byte ranges; its type is the probed container's
    (`video/mp4`, `video/webm`, `video/x-msvideo`...). Browsers play MP4 and WebM with web
    codecs; for other files ask for a clip."""
    src = _source(app, video_id)
    with _answered():
        stat = media.source_stat(src)
    return FileResponse(
        src.path,
        media_type=media.media_type(src),
        filename=src.file_name,
        content_disposition_type="inline",
        stat_result=stat,
    )


@router.get(
    "/{video_id}/clip",
    response_class=FileResponse,
    responses={200: {"content": {"video/mp4": {}, "video/webm": {}}}, **RANGES, **GONE},
)
def video_clip(
    video_id: int,
    app: Services,
    _: Reader,
    start_s: Annotated[float, Query(description="Start of the clip, in seconds.")],
    end_s: Annotated[
        float, Query(description="End of the clip, in seconds (past the video's end: its end).")
    ],
) -> FileResponse:
    """A clip of [start_s, end_s) any browser plays: H.264 (AAC audio when the source has
    sound) in MP4 with the index first, re-encoded from the first frame at or after
    `start_s` whatever the source's codec. At most `clip_max_s` seconds (422 beyond).
    Made on the first request (seconds per minute of video) and cached."""
    src = _source(app, video_id)
    with _answered():
        made = media.clip(app.settings, src, start_s, end_s)
    return FileResponse(made.path, media_type=made.media_type, stat_result=made.path.stat())


@router.get(
    "/{video_id}/frame",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}, **GONE},
)
def video_frame(
    video_id: int,
    app: Services,
    _: Reader,
    t: Annotated[float, Query(description="Time in the video, in seconds.")],
    exact: Annotated[
        bool, Query(description="The frame at `t` itself, never the scene's keyframe.")
    ] = False,
) -> FileResponse:
    """A JPEG of the video at `t`: the keyframe the indexer kept for the scene at `t` (the
    image answers cite), or, without one or with `exact=true`, the frame shown at `t`
    decoded and scaled like keyframes (cached). `X-Frame-Source` says which (`keyframe` or
    `decoded`); `X-Frame-Time` is the keyframe's time, or `t` for the frame on screen at
    `t`. 422 when `t` is outside the video or it has no pictures."""
    src = _source(app, video_id)
    with _answered():
        image = media.still(app.settings, app.db.sessions, src, t, exact)
    headers = {"X-Frame-Time": f"{image.t_s:.3f}", "X-Frame-Source": image.origin}
    return FileResponse(
        image.path, media_type="image/jpeg", headers=headers, stat_result=image.path.stat()
    )
