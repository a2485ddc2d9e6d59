"""A video's stored evidence in a time window, paged: what the evidence routes serve.

Rows overlapping the window [start_s, end_s] (touching counts, as in retrieval's
packing) come in (start, id) order, so that paging is stable. Parameterised ORM
selects of the columns served only: embeddings are never read, and nothing a caller
sends reaches SQL as text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from api.defs.common import Page
from api.defs.evidence import (
    Box,
    DetectionOut,
    EventOut,
    SceneOut,
    Sighting,
    SourceRef,
    SpeechOut,
    TextOut,
    TrackOut,
    WordOut,
)
from vidkg.schema import (
    Detection,
    Event,
    EventSource,
    OnscreenText,
    Scene,
    SpeechSegment,
    Track,
    Video,
)

Sessions = sessionmaker[Session]
Float = InstrumentedAttribute[float]


@dataclass(frozen=True)
class Window:
    """A page of a video's rows overlapping [start_s, end_s] (None: to the end)."""

    video_id: int
    start_s: float = 0.0
    end_s: float | None = None
    limit: int = 100
    offset: int = 0


def video_exists(sessions: Sessions, video_id: int) -> bool:
    if not 0 < video_id < 2**63:
        return False
    with sessions() as s:
        return s.scalar(select(Video.id).where(Video.id == video_id)) is not None


def _overlaps(w: Window, owner: Any, start: Float, end: Float) -> list[ColumnElement[bool]]:
    where = [owner == w.video_id, end >= w.start_s]
    if w.end_s is not None:
        where.append(start <= w.end_s)
    return where


def _page(
    s: Session, stmt: Select[Any], w: Window, start: Float, key: Any
) -> tuple[list[Row[Any]], int]:
    """A page of ``stmt``'s rows in (start, id) order, and how many rows match in all."""
    total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = s.execute(stmt.order_by(start, key).limit(w.limit).offset(w.offset)).all()
    return list(rows), int(total)


def _box(x1: float | None, y1: float | None, x2: float | None, y2: float | None) -> Box | None:
    if x1 is None or y1 is None or x2 is None or y2 is None:
        return None
    return Box(x1=x1, y1=y1, x2=x2, y2=y2)


def parse_words(raw: Sequence[dict[str, Any]] | None) -> list[WordOut]:
    """``speech_segments.words`` as served: as :func:`graph.evidence.parse_words` reads
    them (untimed words skipped), keeping the recogniser's probability."""
    out = []
    for w in raw or []:
        if "start_s" not in w or "end_s" not in w:
            continue
        p = w.get("probability")
        out.append(
            WordOut(
                word=str(w.get("text", "")).strip(),
                start_s=float(w["start_s"]),
                end_s=float(w["end_s"]),
                probability=None if p is None else float(p),
            )
        )
    return out


def scenes(sessions: Sessions, w: Window) -> Page[SceneOut]:
    t = Scene
    cols = (t.id, t.start_s, t.end_s, t.scene_index, t.shot_index, t.cut_before)
    stmt = select(*cols, t.keyframe_times).where(*_overlaps(w, t.video_id, t.start_s, t.end_s))
    with sessions() as s:
        rows, total = _page(s, stmt, w, t.start_s, t.id)
    items = [
        SceneOut(
            id=r.id,
            start_s=r.start_s,
            end_s=r.end_s,
            scene_index=r.scene_index,
            shot_index=r.shot_index,
            cut_before=r.cut_before,
            keyframe_times=list(r.keyframe_times),
            frame_url=_frame_url(w.video_id, r.keyframe_times, r.start_s, r.end_s),
        )
        for r in rows
    ]
    return Page[SceneOut].of(items, total, w.offset, w.limit)


def _frame_url(video_id: int, keyframes: Sequence[float], start_s: float, end_s: float) -> str:
    """``GET /v1/videos/{id}/frame`` at the scene's first keyframe, or its middle: a time
    inside the scene, not on its edge, where the next scene's keyframe may be nearer."""
    t = keyframes[0] if keyframes else (start_s + end_s) / 2
    return f"/v1/videos/{video_id}/frame?t={t}"  # repr: the exact time


def speech(sessions: Sessions, w: Window) -> Page[SpeechOut]:
    t = SpeechSegment
    cols = (t.id, t.start_s, t.end_s, t.text, t.language, t.confidence, t.words)
    stmt = select(*cols).where(*_overlaps(w, t.video_id, t.start_s, t.end_s))
    with sessions() as s:
        rows, total = _page(s, stmt, w, t.start_s, t.id)
    items = [
        SpeechOut(
            id=r.id,
            start_s=r.start_s,
            end_s=r.end_s,
            text=r.text,
            language=r.language,
            confidence=r.confidence,
            words=parse_words(r.words),
        )
        for r in rows
    ]
    return Page[SpeechOut].of(items, total, w.offset, w.limit)


def texts(sessions: Sessions, w: Window) -> Page[TextOut]:
    t = OnscreenText
    cols = (t.id, t.start_s, t.end_s, t.text, t.confidence, t.frame_count)
    box = (t.box_x1, t.box_y1, t.box_x2, t.box_y2)
    stmt = select(*cols, *box).where(*_overlaps(w, t.video_id, t.start_s, t.end_s))
    with sessions() as s:
        rows, total = _page(s, stmt, w, t.start_s, t.id)
    items = [
        TextOut(
            id=r.id,
            start_s=r.start_s,
            end_s=r.end_s,
            text=r.text,
            confidence=r.confidence,
            frame_count=r.frame_count,
            box=_box(r.box_x1, r.box_y1, r.box_x2, r.box_y2),
        )
        for r in rows
    ]
    return Page[TextOut].of(items, total, w.offset, w.limit)


def detections(sessions: Sessions, w: Window) -> Page[DetectionOut]:
    d = Detection
    cols = (d.id, d.t_s, d.label, d.confidence, d.track_id, d.model)
    box = (d.box_x1, d.box_y1, d.box_x2, d.box_y2)
    stmt = select(*cols, *box).where(*_overlaps(w, d.video_id, d.t_s, d.t_s))
    with sessions() as s:
        rows, total = _page(s, stmt, w, d.t_s, d.id)
    items = [
        DetectionOut(
            id=r.id,
            start_s=r.t_s,
            end_s=r.t_s,
            t_s=r.t_s,
            label=r.label,
            confidence=r.confidence,
            box=Box(x1=r.box_x1, y1=r.box_y1, x2=r.box_x2, y2=r.box_y2),
            track_id=r.track_id,
            model=r.model,
        )
        for r in rows
    ]
    return Page[DetectionOut].of(items, total, w.offset, w.limit)


def _sightings(s: Session, track_ids: list[int], last: bool) -> dict[int, Sighting]:
    """Each track's first (``last``: last) detection, one DISTINCT ON query."""
    d = Detection
    when = (d.t_s.desc(), d.id.desc()) if last else (d.t_s, d.id)
    stmt = (
        select(d.track_id, d.t_s, d.confidence, d.box_x1, d.box_y1, d.box_x2, d.box_y2)
        .where(d.track_id.in_(track_ids))
        .ext(distinct_on(d.track_id))
        .order_by(d.track_id, *when)
    )
    return {
        r.track_id: Sighting(
            t_s=r.t_s,
            confidence=r.confidence,
            box=Box(x1=r.box_x1, y1=r.box_y1, x2=r.box_x2, y2=r.box_y2),
        )
        for r in s.execute(stmt)
    }


def tracks(sessions: Sessions, w: Window) -> Page[TrackOut]:
    t = Track
    cols = (t.id, t.start_s, t.end_s, t.track_key, t.label, t.detection_count)
    stmt = select(*cols, t.max_confidence, t.model).where(
        *_overlaps(w, t.video_id, t.start_s, t.end_s)
    )
    with sessions() as s:
        rows, total = _page(s, stmt, w, t.start_s, t.id)
        ids = [r.id for r in rows]
        first, last = _sightings(s, ids, last=False), _sightings(s, ids, last=True)
    items = [_track(r, first.get(r.id), last.get(r.id)) for r in rows]
    return Page[TrackOut].of(items, total, w.offset, w.limit)


def _track(r: Row[Any], first: Sighting | None, last: Sighting | None) -> TrackOut:
    return TrackOut(
        id=r.id,
        start_s=r.start_s,
        end_s=r.end_s,
        track_key=r.track_key,
        label=r.label,
        detection_count=r.detection_count,
        max_confidence=r.max_confidence,
        model=r.model,
        first=first,
        last=last,
    )


def _sources(s: Session, event_ids: list[int]) -> dict[int, list[SourceRef]]:
    e = EventSource
    stmt = (
        select(e.event_id, e.source_kind, e.source_id)
        .where(e.event_id.in_(event_ids))
        .order_by(e.event_id, e.source_kind, e.source_id)
    )
    out: dict[int, list[SourceRef]] = defaultdict(list)
    for event_id, kind, source_id in s.execute(stmt):
        out[event_id].append(SourceRef(kind=kind, id=source_id))
    return out


def events(sessions: Sessions, w: Window) -> Page[EventOut]:
    e = Event
    cols = (e.id, e.start_s, e.end_s, e.kind, e.title, e.description)
    stmt = select(*cols).where(*_overlaps(w, e.video_id, e.start_s, e.end_s))
    with sessions() as s:
        rows, total = _page(s, stmt, w, e.start_s, e.id)
        sources = _sources(s, [r.id for r in rows])
    items = [
        EventOut(
            id=r.id,
            start_s=r.start_s,
            end_s=r.end_s,
            kind=r.kind,
            title=r.title,
            description=r.description,
            sources=sources.get(r.id, []),
        )
        for r in rows
    ]
    return Page[EventOut].of(items, total, w.offset, w.limit)
