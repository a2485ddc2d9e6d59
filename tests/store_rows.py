"""Builders of realistic rows in every table, for tests of the store itself."""

from __future__ import annotations

import hashlib

import numpy as np
from sqlalchemy.orm import Session

from vidkg.schema import (
    Caption,
    Detection,
    Entity,
    Event,
    EventSource,
    Frame,
    IngestCheckpoint,
    IngestJob,
    Mention,
    OnscreenText,
    Relation,
    Scene,
    SpeechSegment,
    Track,
    Video,
)


def add_video(session: Session, name: str, duration_s: float = 60.0) -> Video:
    video = Video(
        source_path=f"/archive/{name}",
        file_name=name,
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        size_bytes=1_000_000,
        container="mov,mp4,m4a,3gp,3g2,mj2",
        duration_s=duration_s,
        fps=25.0,
        width=640,
        height=360,
        video_codec="h264",
        has_audio=True,
    )
    session.add(video)
    session.flush()
    return video


def unit(vec: np.ndarray) -> list[float]:
    return (vec / np.linalg.norm(vec)).astype(np.float32).tolist()


def add_evidence(
    session: Session, video: Video, entity: Entity | None = None, n: int = 0
) -> dict[str, int]:
    """One row in every evidence and graph table for ``video`` (``n`` keeps repeated calls
    apart in the unique keys); returns some of their ids."""
    rng = np.random.default_rng(video.id)
    text_vec = unit(rng.normal(size=384))
    scene = Scene(
        video_id=video.id, scene_index=n, start_s=0.0, end_s=12.0, keyframe_times=[1.0, 6.0]
    )
    frame = Frame(
        video_id=video.id,
        t_s=6.0 + n,
        image_path=f"{video.id}/6.000.jpg",
        embedding=unit(rng.normal(size=512)),
        embedding_model="test",
    )
    speech = SpeechSegment(
        video_id=video.id,
        start_s=2.0,
        end_s=5.5,
        text="The spare turbine blades will arrive at dock seven on Thursday.",
        words=[{"word": "The", "start_s": 2.0, "end_s": 2.1, "probability": 0.99}],
        language="en",
        confidence=0.93,
        embedding=text_vec,
        embedding_model="test",
    )
    shown = OnscreenText(
        video_id=video.id,
        start_s=3.0,
        end_s=9.0,
        text="GATE 14 CLOSED",
        confidence=0.88,
        box_x1=0.1,
        box_y1=0.2,
        box_x2=0.9,
        box_y2=0.4,
        frame_count=6,
    )
    track = Track(
        video_id=video.id,
        track_key=1,
        label="person",
        start_s=0.5,
        end_s=11.0,
        detection_count=2,
        max_confidence=0.91,
        model="best.pt",
    )
    caption = Caption(
        video_id=video.id,
        start_s=0.0,
        end_s=12.0,
        text="Two people walk past a closed gate.",
        captioner="extractive",
    )
    event = Event(
        video_id=video.id,
        start_s=2.0,
        end_s=5.5,
        kind="speech",
        title="Delivery announced",
        description="turbine blades to dock seven",
    )
    job = IngestJob(video_id=video.id, stages=["asr"], status="running")
    session.add_all([scene, frame, speech, shown, track, caption, event, job])
    session.flush()
    detection = Detection(
        video_id=video.id,
        track_id=track.id,
        t_s=1.0,
        label="person",
        confidence=0.9,
        box_x1=0.1,
        box_y1=0.1,
        box_x2=0.3,
        box_y2=0.8,
    )
    checkpoint = IngestCheckpoint(
        video_id=video.id,
        job_id=job.id,
        stage="asr",
        chunk_index=n,
        start_s=0.0,
        end_s=60.0,
        status="done",
    )
    if entity is None:
        entity = Entity(kind="place", name="Dock Seven", canonical_name=f"dock seven {video.id}")
        session.add(entity)
        session.flush()
    mention = Mention(
        entity_id=entity.id,
        video_id=video.id,
        event_id=event.id,
        start_s=2.0,
        end_s=5.5,
        source_kind="speech_segments",
        source_id=speech.id,
        surface="dock seven",
    )
    relation = Relation(
        video_id=video.id, predicate="mentions", src_event_id=event.id, dst_entity_id=entity.id
    )
    source = EventSource(event_id=event.id, source_kind="speech_segments", source_id=speech.id)
    session.add_all([detection, checkpoint, mention, relation, source])
    session.flush()
    return {"entity": entity.id, "speech": speech.id, "event": event.id}
