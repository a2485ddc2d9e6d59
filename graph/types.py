"""Typed records of the knowledge graph: what the build reads, what it writes.

Everything that crosses a module boundary in ``graph/`` is one of these frozen records
or an enum, never an ORM object: the build is a pure function from
:class:`VideoEvidence` to :class:`GraphDraft`, and only ``graph.store`` talks SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class EntityKind(StrEnum):
    PERSON = "person"
    OBJECT = "object"
    TEXT = "text"  # read on screen
    TERM = "term"  # key phrase said
    NAME = "name"  # proper name said


class Predicate(StrEnum):
    NEXT = "NEXT"  # event -> the next event of the same video
    MENTIONS = "MENTIONS"  # event -> term or name said in it
    SHOWS = "SHOWS"  # event -> text, object or person seen in it
    CO_OCCURS = "CO_OCCURS"  # entity -> entity of the same event
    DURING = "DURING"  # a speech segment's event -> another event the speech overlaps
    SAME_AS = "SAME_AS"  # alias entity -> the entity it was merged into


class SourceKind(StrEnum):
    """Evidence tables an event or a mention points into."""

    SPEECH = "speech_segments"
    TEXT = "onscreen_text"
    TRACK = "tracks"
    DETECTION = "detections"  # sightings the tracker never confirmed
    CAPTION = "captions"
    SCENE = "scenes"


# ---- evidence read from the store ------------------------------------------------------


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class SpanRow:
    id: int
    start_s: float
    end_s: float
    cut_before: bool


@dataclass(frozen=True)
class SpeechRow:
    id: int
    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...]


@dataclass(frozen=True)
class TextRow:
    id: int
    start_s: float
    end_s: float
    text: str
    confidence: float


@dataclass(frozen=True)
class TrackRow:
    id: int
    start_s: float
    end_s: float
    label: str
    detections: int
    confidence: float
    appearance: tuple[float, ...] | None


@dataclass(frozen=True)
class DetectionRow:
    """A box the tracker never confirmed (kept by the detect stage without a track)."""

    id: int
    t_s: float
    label: str


@dataclass(frozen=True)
class CaptionRow:
    id: int
    start_s: float
    end_s: float
    text: str
    captioner: str


@dataclass(frozen=True)
class VideoEvidence:
    """Everything the indexer stored about one video, in time order."""

    video_id: int
    spans: tuple[SpanRow, ...]
    speech: tuple[SpeechRow, ...]
    texts: tuple[TextRow, ...]
    tracks: tuple[TrackRow, ...]
    captions: tuple[CaptionRow, ...]
    untracked: tuple[DetectionRow, ...] = ()


# ---- what the build makes ----------------------------------------------------------------


@dataclass(frozen=True)
class EntityKey:
    """An entity as the build knows it before it has an id: unique per (kind, canonical)."""

    kind: EntityKind
    canonical: str


@dataclass(frozen=True)
class EventDraft:
    index: int  # order in the video
    start_s: float
    end_s: float
    title: str
    description: str
    spans: int
    cut_before: bool
    sources: tuple[tuple[SourceKind, int], ...]


@dataclass(frozen=True)
class MentionDraft:
    entity: EntityKey
    event: int  # EventDraft.index
    start_s: float
    end_s: float
    source_kind: SourceKind
    source_id: int
    surface: str
    confidence: float | None


@dataclass(frozen=True)
class EdgeEnd:
    """One end of a relation: an event (by draft index) or an entity (by key, or by id
    once stored)."""

    event: int | None = None
    entity: EntityKey | None = None
    entity_id: int | None = None


@dataclass(frozen=True)
class RelationDraft:
    predicate: Predicate
    src: EdgeEnd
    dst: EdgeEnd
    start_s: float | None = None
    end_s: float | None = None
    confidence: float | None = None
    source_kind: SourceKind | None = None
    source_id: int | None = None


@dataclass(frozen=True)
class EntityDraft:
    key: EntityKey
    name: str  # display form (the commonest surface)
    aliases: tuple[tuple[str, str], ...] = ()  # (form, surface) merged into this (SAME_AS)
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass
class GraphDraft:
    """A video's whole graph, ready to be written in one transaction."""

    video_id: int
    events: list[EventDraft] = field(default_factory=list)
    entities: dict[EntityKey, EntityDraft] = field(default_factory=dict)
    mentions: list[MentionDraft] = field(default_factory=list)
    relations: list[RelationDraft] = field(default_factory=list)


@dataclass(frozen=True)
class BuildResult:
    video_id: int
    version: int
    seconds: float
    counts: dict[str, int]


# Sentence embeddings for event descriptions: the indexer passes its text model in, so
# ``graph`` never loads a model itself (and never imports the indexer).
TextEmbedder = Callable[[Sequence[str]], Sequence[Sequence[float]]]
