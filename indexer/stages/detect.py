"""Object detection with any ultralytics weights, tracked across frames by ByteTrack.

Frames where nothing changed since the last one detected are skipped (a photo slide or a
still camera with nobody moving is detected once, not every second); otherwise the
detector sees about ``settings.fps`` frames a second (the sampled frame nearest each
point of a fixed grid of the timeline, so chunk boundaries do not shift the choice).
ByteTrack is driven directly rather than through ``model.track``: its state is then ours
to reset at every cut (tracks never cross shots) and at every chunk, and to carry from one
span to the next within a shot. Every detection ends up in some track: those the tracker
never confirmed become one-detection tracks, so nothing the detector saw is lost.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from indexer.models import ModelRegistry, ModelUnavailable
from indexer.stages.appearance import descriptor
from indexer.stages.base import (
    Box,
    DetectionRecord,
    SampledFrame,
    Span,
    TrackRecord,
    block_change,
)
from vidkg.stage_settings import DetectSettings


def choose_frames(span: Span, frames: Sequence[SampledFrame], fps: float) -> list[SampledFrame]:
    """The frame nearest each point ``k / fps`` of the timeline inside the span; at least one,
    so even a span shorter than the grid step is looked at."""
    if not frames:
        return []
    step = 1.0 / fps
    picked: dict[int, SampledFrame] = {}
    k = math.ceil(span.start_s / step - 1e-9)
    while k * step < span.end_s:
        best = min(range(len(frames)), key=lambda i: abs(frames[i].t_s - k * step))
        picked.setdefault(best, frames[best])
        k += 1
    return [picked[i] for i in sorted(picked)] or [frames[0]]


class ObjectStage:
    """Detect and track objects; emits :class:`TrackRecord` numbered 1..N per chunk."""

    name: ClassVar[str] = "detect"

    def __init__(self, registry: ModelRegistry, settings: DetectSettings) -> None:
        self.settings = settings
        self.registry = registry
        weights = registry.detector_weights()
        try:  # load now, so a bad path fails before any decoding, with the path in the message
            self.model: Any = registry.detector()
        except Exception as exc:
            raise ModelUnavailable(f"cannot load detector weights {weights!r}: {exc}") from exc
        self.model_name = Path(weights).name
        try:  # ultralytics imports ``lap`` lazily, and would try to pip-install it if missing
            from ultralytics.trackers.byte_tracker import BYTETracker
        except ImportError as exc:
            raise ModelUnavailable(f"ByteTrack cannot run ({exc}): pip install lap") from exc
        self._tracker_cls = BYTETracker
        self.names: dict[int, str] = dict(self.model.names)
        self._tracker: Any = None
        self._shot: int | None = None
        self._open: dict[int, list[DetectionRecord]] = {}  # tracker id -> its detections
        self._next_key = 1
        self._runs = 0  # detector runs in the current shot
        self._singles: list[list[DetectionRecord]] = []  # one-sighting groups of the shot

    # ---- VisualStage -----------------------------------------------------------------

    def start_chunk(self, chunk_start_s: float, chunk_end_s: float) -> None:
        self._tracker = self._new_tracker()
        self._shot = None
        self._open = {}
        self._next_key = 1
        self._runs = 0
        self._singles = []

    def process(self, span: Span, frames: Sequence[SampledFrame]) -> list[Any]:
        out: list[Any] = []
        if span.shot_index != self._shot:  # a cut: close every track, start afresh
            out += self._close(list(self._open))
            out += self._flush_singles()
            self._tracker = self._new_tracker()
            self._shot = span.shot_index
        last: SampledFrame | None = None
        for frame in choose_frames(span, frames, self.settings.fps):
            if (
                last is not None
                and block_change(frame.thumb, last.thumb) <= self.settings.change_threshold
            ):
                continue  # the picture did not change: neither would the detections
            out += self._detect(frame)
            self._runs += 1
            last = frame
        # Tracks the tracker has forgotten (neither tracked nor lost) can be emitted now.
        alive = {t.track_id for t in self._tracker.tracked_stracks + self._tracker.lost_stracks}
        out += self._close([tid for tid in self._open if tid not in alive])
        return out

    def finish_chunk(self) -> list[Any]:
        out = self._close(list(self._open)) + self._flush_singles()
        self._tracker, self._shot = None, None
        return out

    # ---- internals -------------------------------------------------------------------

    def _new_tracker(self) -> Any:
        """A fresh ByteTrack built from the yaml config, the way ultralytics' own
        ``trackers/track.py`` does, adapted to sparse sampling: the config is tuned for
        30 fps video, while the detector sees about ``settings.fps`` frames a second."""
        from ultralytics.utils import IterableSimpleNamespace
        from ultralytics.utils.checks import check_yaml

        try:
            from ultralytics.utils import YAML

            load = YAML.load
        except ImportError:  # older ultralytics
            from ultralytics.utils import yaml_load as load
        cfg = IterableSimpleNamespace(**load(check_yaml(self.settings.tracker)))
        # Lost tracks are kept track_buffer frames *at 30 fps* (older versions scaled it by
        # their frame_rate argument, newer ones count our frames): keep that in seconds.
        cfg.track_buffer = max(1, round(cfg.track_buffer * self.settings.fps / 30.0))
        # Score fusion multiplies box overlap by the detection score; a second apart a
        # walking person's boxes overlap little, so with scores of 0.3-0.6 nothing would
        # match (vtest.avi at 1 fps: 1 of 50 tracks had several detections with it, 8 of 33
        # without).
        cfg.fuse_score = False
        return self._tracker_cls(args=cfg)

    def _detect(self, frame: SampledFrame) -> list[TrackRecord]:
        """Detect on one frame, feed the tracker, and file each detection under its track
        (unconfirmed tracks included, so a track's first sighting is kept)."""
        bgr = np.ascontiguousarray(frame.image[:, :, ::-1])
        result = self.model.predict(
            bgr, imgsz=self.settings.imgsz, conf=self.settings.confidence, verbose=False
        )[0]
        boxes = result.boxes.cpu().numpy()
        h, w = frame.image.shape[:2]
        scale = np.array([w, h, w, h], np.float32)
        keep = [
            i
            for i, (xyxy, cls) in enumerate(zip(boxes.xyxy, boxes.cls, strict=True))
            if self._plausible(self.names.get(int(cls), str(int(cls))), xyxy)
        ]
        boxes = boxes[keep] if len(keep) < len(boxes) else boxes
        self._tracker.update(boxes, bgr)  # even with no boxes: an empty frame ages lost tracks
        dets = []
        for xyxy, conf, cls in zip(boxes.xyxy, boxes.conf, boxes.cls, strict=True):
            name = self.names.get(int(cls), str(int(cls)))
            box = Box(*(float(v) for v in np.clip(xyxy / scale, 0.0, 1.0)))
            label = self.settings.label_map.get(name, name)
            look = descriptor(frame.image, (box.x1, box.y1, box.x2, box.y2))
            dets.append(DetectionRecord(frame.t_s, label, float(conf), box, self.model_name, look))
        claimed: set[int] = set()
        now = self._tracker.frame_id
        for track in self._tracker.tracked_stracks:
            if track.frame_id == now and track.track_id and int(track.idx) not in claimed:
                claimed.add(int(track.idx))
                self._open.setdefault(track.track_id, []).append(dets[int(track.idx)])
        return [t for i, d in enumerate(dets) if i not in claimed for t in self._record([d])]

    def _plausible(self, name: str, xyxy: np.ndarray) -> bool:
        """Is the box's shape (height / width, in pixels) one its class can have?"""
        limits = self.settings.aspect_limits.get(name)
        if limits is None:
            return True
        width, height = float(xyxy[2] - xyxy[0]), float(xyxy[3] - xyxy[1])
        return width > 0 and limits[0] <= height / width <= limits[1]

    def _close(self, track_ids: list[int]) -> list[TrackRecord]:
        return [t for tid in track_ids for t in self._record(self._open.pop(tid))]

    def _flush_singles(self) -> list[Any]:
        """Sightings never seen again in their shot. Where the detector looked at the
        shot several times and saw them once, they are flickers (the default weights'
        false alarms on photos are): kept as detections without a track. Where it
        looked once (nothing changed), one sighting is all there is: a track."""
        singles, self._singles = self._singles, []
        runs, self._runs = self._runs, 0
        if runs >= 2:
            return [d for dets in singles for d in dets]
        return [self._track(dets) for dets in singles]

    def _record(self, dets: list[DetectionRecord]) -> list[TrackRecord]:
        if len(dets) < 2:
            self._singles.append(dets)
            return []
        return [self._track(dets)]

    def _track(self, dets: list[DetectionRecord]) -> TrackRecord:
        """One track; its label is the commonest among its detections (ByteTrack matches
        boxes regardless of class, so a track may mix e.g. car and truck)."""
        key, self._next_key = self._next_key, self._next_key + 1
        return TrackRecord(
            track_key=key,
            label=Counter(d.label for d in dets).most_common(1)[0][0],
            start_s=dets[0].t_s,
            end_s=dets[-1].t_s,
            max_confidence=max(d.confidence for d in dets),
            model=self.model_name,
            detections=tuple(dets),
        )
