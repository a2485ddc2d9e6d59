"""Evidence of one video, as the indexer stored it: scenes, events, speech, on-screen
text, object tracks and detections, each with its times so an analyst can check a claim
against the video."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Box(BaseModel):
    """A bounding box normalised to [0, 1] of the frame's width and height."""

    x1: float
    y1: float
    x2: float
    y2: float


class Spanned(BaseModel):
    id: int = Field(description="The row's id (cite it; events list their sources by it).")
    start_s: float = Field(description="Seconds from the start of the video.", examples=[14.0])
    end_s: float = Field(examples=[21.0])


class SceneOut(Spanned):
    """A scene: a span of one shot (a long shot is split into several scenes)."""

    scene_index: int = Field(description="Its place in the video, from 0.", examples=[2])
    shot_index: int = Field(description="The shot it is in: cuts before it, from 0.")
    cut_before: bool = Field(description="It starts at a cut (not a split of a long shot).")
    keyframe_times: list[float] = Field(description="When its kept keyframes were taken (s).")
    frame_url: str = Field(
        description="`GET` it for the scene's keyframe as JPEG (its middle when none was kept).",
        examples=["/v1/videos/1/frame?t=17.5"],
    )


class SourceRef(BaseModel):
    """An evidence row an event was fused from."""

    kind: str = Field(
        description="Its table: speech_segments, onscreen_text, tracks, detections, "
        "captions or scenes.",
        examples=["onscreen_text"],
    )
    id: int


class EventOut(Spanned):
    kind: str = Field(examples=["span"])
    title: str = Field(examples=["NORTH BRIDGE CLOSED"])
    description: str | None
    sources: list[SourceRef]


class WordOut(BaseModel):
    word: str = Field(examples=["bridge"])
    start_s: float
    end_s: float
    probability: float | None = Field(description="The recogniser's confidence, 0-1.")


class SpeechOut(Spanned):
    text: str = Field(examples=["The inspection of the North Bridge is scheduled for Monday."])
    language: str | None = Field(examples=["en"])
    confidence: float | None = Field(description="Mean word probability.")
    words: list[WordOut] = Field(description="Timed words (untimed ones are left out).")


class TextOut(Spanned):
    text: str = Field(examples=["NORTH BRIDGE CLOSED"])
    confidence: float | None
    frame_count: int = Field(description="Sampled frames it was read in.")
    box: Box | None


class Sighting(BaseModel):
    """One detection of a track: when and where."""

    t_s: float
    confidence: float
    box: Box


class TrackOut(Spanned):
    track_key: int = Field(description="The tracker's id of the object within the video.")
    label: str = Field(examples=["person"])
    detection_count: int
    max_confidence: float | None
    model: str | None
    first: Sighting | None = Field(description="Its first detection (None: none kept).")
    last: Sighting | None = Field(description="Its last detection.")


class DetectionOut(Spanned):
    """A box in one frame: ``start_s == end_s == t_s``."""

    t_s: float = Field(description="The frame's time.")
    label: str = Field(examples=["person"])
    confidence: float
    box: Box
    track_id: int | None = Field(description="The track it belongs to (None: untracked).")
    model: str | None
