"""The video pass of a chunk: decode once, cut into spans, hand each span to the stages.

Every decoded frame feeds the shot detector (thumbnails from the decoder's own planes);
a frame is sampled (converted to RGB) at ``max(ocr.sample_fps, detect.fps)`` per second
and at the start of every span; only the open span's samples are held, so memory is
bounded by ``max_span_s`` whatever the length of the video. When a span closes (a cut,
the length limit, or the chunk's end) each visual stage processes it.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from indexer.media import VideoReader
from indexer.plan import Chunk, IngestReport
from indexer.stages.base import SampledFrame
from indexer.stages.scenes import OpenSpan, ShotDetector
from vidkg.stage_settings import IndexerSettings

log = logging.getLogger(__name__)
SPANS_PER_CHUNK = 100_000  # provisional scene numbers: chunk_index * this + position
_PREROLL_S = 1.0  # decoded before a chunk's start so a cut right at it is seen


def run_visual_pass(
    path: str,
    chunk: Chunk,
    stages: dict[str, Any],
    cfg: IndexerSettings,
    report: IngestReport,
) -> dict[str, list]:
    """Records of each stage for ``chunk``; decode time and stage time go to ``report``."""
    for stage in stages.values():
        stage.start_chunk(chunk.start_s, chunk.end_s)
    results: dict[str, list] = {n: [] for n in stages}
    fps = max(cfg.ocr.sample_fps, cfg.detect.fps, 0.5)
    detector = ShotDetector(cfg.scenes)
    max_span = cfg.scenes.max_span_s
    reader = VideoReader(path, cfg.frame_width)
    base = chunk.index * SPANS_PER_CHUNK
    span: OpenSpan | None = None
    shot = 0
    next_sample = -math.inf
    decode_started = time.perf_counter()
    busy = 0.0  # seconds spent in stages, to tell decode time apart

    def close(end_s: float) -> None:
        nonlocal busy
        assert span is not None
        closed = span.close(end_s)
        for name, stage in stages.items():
            t0 = time.perf_counter()
            results[name].extend(stage.process(closed, span.frames))
            spent = time.perf_counter() - t0
            busy += spent
            if name in report.stages:
                report.stages[name].seconds += spent

    preroll = _PREROLL_S if chunk.start_s > 0 else 0.0
    last_t = chunk.start_s
    for frame in reader.frames(chunk.start_s, chunk.end_s, lambda t: False, preroll):
        cut = detector.is_cut(frame.t_s, frame.thumb, frame.chroma)
        if frame.t_s < chunk.start_s:
            continue  # pre-roll: only primes the shot detector
        last_t = frame.t_s
        if span is None or cut or frame.t_s - span.start_s >= max_span:
            if span is not None:
                close(frame.t_s)
                shot += 1 if cut else 0
            start = chunk.start_s if span is None else frame.t_s
            span = OpenSpan(base + (span.index - base + 1 if span else 0), shot, start, cut)
            next_sample = -math.inf
        if frame.t_s >= next_sample:
            span.frames.append(SampledFrame(frame.t_s, frame.rgb(), frame.thumb))
            next_sample = (math.floor(frame.t_s * fps) + 1) / fps
    if span is not None:
        end = chunk.end_s if reader.error is None else last_t
        close(max(end, span.start_s))
    for name, stage in stages.items():
        results[name].extend(stage.finish_chunk())
    report.decode_s += time.perf_counter() - decode_started - busy
    if reader.error is not None:
        log.warning("%s chunk %s: %s", path, chunk.index, reader.error)
    return results
