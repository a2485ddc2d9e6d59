"""What a chunk's derived stages (captions, text embeddings) read back from the store."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TextRow:
    id: int
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class TrackRow:
    label: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class SceneRow:
    start_s: float
    end_s: float
    keyframe_paths: tuple[str, ...] = ()


@dataclass
class ChunkEvidence:
    """Rows of one chunk of one video, by kind, in time order."""

    start_s: float
    end_s: float
    scenes: list[SceneRow] = field(default_factory=list)
    speech: list[TextRow] = field(default_factory=list)
    texts: list[TextRow] = field(default_factory=list)
    tracks: list[TrackRow] = field(default_factory=list)
    captions: list[TextRow] = field(default_factory=list)

    def within(self, rows: list, start_s: float, end_s: float) -> list:
        """Rows overlapping [start_s, end_s): a text that ends where the span starts
        belongs to the span before (tracks close at the cut); a row read on one frame
        only (start = end) belongs to the span it lies in."""
        return [
            r for r in rows if r.start_s < end_s and (r.end_s > start_s or r.start_s >= start_s)
        ]
