"""Typed ORM models of every vidkg table (the DDL itself is in migrations/)."""

from vidkg.schema.api import ApiKey, Watch, WatchHit
from vidkg.schema.base import Base
from vidkg.schema.evidence import (
    Caption,
    Detection,
    Frame,
    OnscreenText,
    Scene,
    SpeechSegment,
    Track,
)
from vidkg.schema.graph import Entity, Event, EventSource, GraphBuild, Mention, Relation
from vidkg.schema.videos import IngestCheckpoint, IngestJob, UnitRecovery, Video

__all__ = [
    "ApiKey",
    "Watch",
    "WatchHit",
    "Base",
    "Caption",
    "Detection",
    "Entity",
    "Event",
    "EventSource",
    "Frame",
    "GraphBuild",
    "IngestCheckpoint",
    "IngestJob",
    "Mention",
    "OnscreenText",
    "Relation",
    "Scene",
    "SpeechSegment",
    "Track",
    "UnitRecovery",
    "Video",
]
