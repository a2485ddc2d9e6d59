"""Shot boundaries with frame accuracy, and spans of bounded length.

The detector scores every decoded frame against the one before it on thumbnails taken
straight from the decoder's planes (about 80x45 Y plus U and V). A cut needs a score above
an absolute threshold *and* well above the recent median, so fast motion inside a shot
(whose every frame differs) is not taken for a cut. On the shared haystack, hard cuts
score 0.08 and more while the busiest non-cut frames stay under 0.035.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from indexer.stages.base import KeyframeRecord, SampledFrame, SceneRecord, Span
from vidkg.stage_settings import ScenesSettings

_HISTORY = 15  # frames of recent scores the adaptive test looks at


class ShotDetector:
    """Feed every frame in order; :meth:`is_cut` says whether a new shot starts at it."""

    def __init__(self, settings: ScenesSettings) -> None:
        self.settings = settings
        self._prev: np.ndarray | None = None
        self._scores: deque[float] = deque(maxlen=_HISTORY)
        self._last_cut_s = -1e9

    def is_cut(self, t_s: float, thumb: np.ndarray, chroma: np.ndarray) -> bool:
        cur = np.hstack([thumb, chroma]).astype(np.int16)
        prev, self._prev = self._prev, cur
        if prev is None or prev.shape != cur.shape:
            return False
        score = float(np.abs(cur - prev).mean() / 255.0)
        recent = float(np.median(self._scores)) if self._scores else 0.0
        self._scores.append(score)
        cut = (
            score > self.settings.threshold
            and score > self.settings.adaptive_ratio * recent
            and t_s - self._last_cut_s >= self.settings.min_shot_s
        )
        if cut:
            self._last_cut_s = t_s
            self._scores.clear()
        return cut


@dataclass
class OpenSpan:
    """The span being decoded: its frames are held until it closes (bounded by max_span_s)."""

    index: int
    shot_index: int
    start_s: float
    cut_before: bool
    frames: list[SampledFrame] = field(default_factory=list)

    def close(self, end_s: float) -> Span:
        keyframe = pick_keyframe(self.frames, self.start_s, end_s)
        times = (keyframe.t_s,) if keyframe is not None else ()
        return Span(self.index, self.shot_index, self.start_s, end_s, times, self.cut_before)


def pick_keyframe(frames: list[SampledFrame], start_s: float, end_s: float) -> SampledFrame | None:
    """The sampled frame nearest the middle of the span: away from the cut on either side."""
    if not frames:
        return None
    middle = (start_s + end_s) / 2
    return min(frames, key=lambda f: abs(f.t_s - middle))


class SceneStage:
    """Records each span as a scene row, with its keyframe kept as an image."""

    name = "scenes"

    def start_chunk(self, chunk_start_s: float, chunk_end_s: float) -> None:
        pass

    def process(self, span: Span, frames: list[SampledFrame]) -> list[object]:
        scene = SceneRecord(
            span.index,
            span.shot_index,
            span.cut_before,
            span.start_s,
            span.end_s,
            span.keyframe_times,
        )
        keyframes = [KeyframeRecord(f.t_s, f.image) for f in frames if f.t_s in span.keyframe_times]
        return [scene, *keyframes]

    def finish_chunk(self) -> list[object]:
        return []
