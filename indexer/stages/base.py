"""The one interface every indexer stage implements, and the typed records they emit.

A stage gets a span of the timeline with what it needs (sampled frames, or audio) and
returns typed records; it never touches the database. The pipeline wires stages to
the decoder and hands their records to the one write path (``indexer.store``), which
replaces a stage's rows for a chunk in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np


@dataclass(frozen=True)
class Span:
    """A piece of one shot, at most ``max_span_s`` long: the unit of visual analysis."""

    index: int  # scene_index: position in the chunk (renumbered over the video at the end)
    shot_index: int  # spans of the same shot share it; it changes at every cut
    start_s: float
    end_s: float
    keyframe_times: tuple[float, ...] = ()
    cut_before: bool = False  # this span starts at a detected cut


@dataclass(frozen=True)
class SampledFrame:
    """A decoded frame scaled to ``frame_width`` (RGB, upright) and its thumbnail.

    ``thumb`` is a small grey picture (the luma, about 80 pixels wide) that stages compare
    with :func:`block_change` / :func:`cell_changes` to skip frames where nothing changed.
    """

    t_s: float
    image: np.ndarray  # H x W x 3, uint8, RGB
    thumb: np.ndarray  # h x w, uint8


def cell_changes(a: np.ndarray, b: np.ndarray, grid: int = 8) -> np.ndarray:
    """Mean absolute difference (0-1) of each cell of a ``grid`` x ``grid`` split of two
    thumbnails (all ones when their shapes differ)."""
    if a.shape != b.shape:
        return np.ones((grid, grid), np.float32)
    h, w = a.shape
    grid = max(1, min(grid, h, w))
    gh, gw = h // grid, w // grid
    diff = np.abs(a[: gh * grid, : gw * grid].astype(np.int16) - b[: gh * grid, : gw * grid])
    return diff.reshape(grid, gh, grid, gw).mean(axis=(1, 3)).astype(np.float32) / 255.0


def block_change(a: np.ndarray, b: np.ndarray, grid: int = 8) -> float:
    """The largest cell change between two thumbnails: a small caption appearing changes
    one cell a lot, while noise changes every cell a little."""
    return float(cell_changes(a, b, grid).max())


@dataclass(frozen=True)
class ChunkAudio:
    """Audio of a chunk plus overlap: 16 kHz mono float32, starting at ``start_s``."""

    start_s: float
    samples: np.ndarray
    keep_from_s: float  # words starting before this belong to the previous chunk
    keep_until_s: float  # words starting at or after this belong to the next chunk

    SAMPLE_RATE: ClassVar[int] = 16000


# ---- records -------------------------------------------------------------------------


@dataclass(frozen=True)
class SceneRecord:
    scene_index: int
    shot_index: int
    cut_before: bool
    start_s: float
    end_s: float
    keyframe_times: tuple[float, ...]


@dataclass(frozen=True)
class KeyframeRecord:
    """A keyframe image kept for answers (and the clip stage): written as a JPEG."""

    t_s: float
    image: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class Word:
    start_s: float
    end_s: float
    text: str
    probability: float


@dataclass(frozen=True)
class SpeechRecord:
    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...]
    language: str | None
    confidence: float | None  # mean word probability


@dataclass(frozen=True)
class Box:
    """Normalised to [0, 1] of the frame's width and height."""

    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class TextTrackRecord:
    """One text shown on screen from ``start_s`` to ``end_s`` (seen in ``frame_count`` reads)."""

    start_s: float
    end_s: float
    text: str
    confidence: float
    box: Box
    frame_count: int


@dataclass(frozen=True)
class DetectionRecord:
    """One box in one frame. Emitted on its own (not in a track) for a sighting the
    tracker never confirmed: stored with no track."""

    t_s: float
    label: str
    confidence: float
    box: Box
    model: str | None = None
    # Colour descriptor of the crop (indexer.stages.appearance); people are linked on it.
    appearance: tuple[float, ...] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class TrackRecord:
    """An object followed across frames of one shot; detections without a track id
    from the tracker become one-detection tracks."""

    track_key: int
    label: str
    start_s: float
    end_s: float
    max_confidence: float
    model: str
    detections: tuple[DetectionRecord, ...]

    @property
    def appearance(self) -> list[float] | None:
        """Mean of the detections' colour descriptors (None when none has one)."""
        from indexer.stages.appearance import mean_descriptor

        return mean_descriptor([d.appearance for d in self.detections])


@dataclass(frozen=True)
class FrameEmbeddingRecord:
    t_s: float
    embedding: np.ndarray
    model: str


@dataclass(frozen=True)
class CaptionRecord:
    start_s: float
    end_s: float
    text: str
    captioner: str


# ---- stage protocols -----------------------------------------------------------------


class VisualStage(Protocol):
    """Consumes the sampled frames of each span, in order, within one chunk."""

    name: ClassVar[str]

    def start_chunk(self, chunk_start_s: float, chunk_end_s: float) -> None:
        """Reset per-chunk state (trackers, de-duplication)."""

    def process(self, span: Span, frames: Sequence[SampledFrame]) -> list[Any]:
        """Records for this span (may also be held back and returned by finish_chunk)."""

    def finish_chunk(self) -> list[Any]:
        """Records still held when the chunk ends (e.g. open text tracks)."""


class StageSkipped(Exception):
    """A stage that cannot run for a reason the user can act on (no weights, no audio).

    The pipeline records it as skipped with this message and the rest goes on.
    """
