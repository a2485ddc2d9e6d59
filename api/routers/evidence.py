"""Evidence: a video's scenes, events, speech, on-screen text, tracks and detections in a
time window, paged, so an analyst can check an answer against what was stored."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api import evidence
from api.auth import Reader
from api.defs.common import Page
from api.defs.evidence import (
    DetectionOut,
    EventOut,
    SceneOut,
    SpeechOut,
    TextOut,
    TrackOut,
)
from api.deps import Services
from api.problems import Problem

router = APIRouter(prefix="/v1/videos", tags=["evidence"])


def window(
    video_id: int,
    _: Reader,
    app: Services,
    start_s: Annotated[
        float, Query(ge=0, le=10**7, allow_inf_nan=False, description="Window start (s).")
    ] = 0.0,
    end_s: Annotated[
        float | None,
        Query(ge=0, le=10**7, allow_inf_nan=False, description="Window end (s); none: the end."),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=100_000, description="At most VIDKG_API__PAGE_MAX.")
    ] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> evidence.Window:
    """The window asked for, checked: a known video, start <= end, a page that fits.
    Needs ``Reader`` itself, so no check runs (and no video is revealed) before auth."""
    if end_s is not None and end_s < start_s:
        raise Problem(422, f"end_s ({end_s}) is before start_s ({start_s})")
    if limit > app.settings.api.page_max:
        raise Problem(422, f"limit: at most {app.settings.api.page_max}")
    if not evidence.video_exists(app.db.sessions, video_id):
        raise Problem(404, f"no video {video_id}")
    return evidence.Window(video_id, start_s, end_s, limit, offset)


Window = Annotated[evidence.Window, Depends(window)]


@router.get("/{video_id}/scenes", response_model=Page[SceneOut])
def scenes(_: Reader, w: Window, app: Services) -> Page[SceneOut]:
    """Scenes (spans of a shot, between cuts) overlapping the window, with the time of
    each one's keyframe and where to get it as an image."""
    return evidence.scenes(app.db.sessions, w)


@router.get("/{video_id}/events", response_model=Page[EventOut])
def events(_: Reader, w: Window, app: Services) -> Page[EventOut]:
    """Events (the graph's moments) overlapping the window, with the evidence rows each
    was fused from."""
    return evidence.events(app.db.sessions, w)


@router.get("/{video_id}/speech", response_model=Page[SpeechOut])
def speech(_: Reader, w: Window, app: Services) -> Page[SpeechOut]:
    """Transcribed speech segments overlapping the window, with timed words."""
    return evidence.speech(app.db.sessions, w)


@router.get("/{video_id}/text", response_model=Page[TextOut])
def text(_: Reader, w: Window, app: Services) -> Page[TextOut]:
    """On-screen text read in the window, with where it was on the frame."""
    return evidence.texts(app.db.sessions, w)


@router.get("/{video_id}/tracks", response_model=Page[TrackOut])
def tracks(_: Reader, w: Window, app: Services) -> Page[TrackOut]:
    """Object tracks overlapping the window, with their first and last sighting."""
    return evidence.tracks(app.db.sessions, w)


@router.get("/{video_id}/detections", response_model=Page[DetectionOut])
def detections(_: Reader, w: Window, app: Services) -> Page[DetectionOut]:
    """Single-frame detections in the window (tracked or not)."""
    return evidence.detections(app.db.sessions, w)
