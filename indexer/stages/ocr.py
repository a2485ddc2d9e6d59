"""On-screen text: easyocr on as few frames as possible, de-duplicated into text tracks.

Reading a 640x360 frame as easyocr ships costs about a second and a half on a CPU,
nearly all of it in the CRAFT text detector, so three things set the speed. First, the
detector sees the frame scaled to ``detect_max_side`` while the recogniser reads the
boxes at full resolution, so small text is still read sharply. Second, the detector runs
in onnxruntime, quantized to int8 (``indexer.ocr_onnx``): at 320 px, 0.09 s a frame
instead of 0.23 s in float and 0.4 s in torch. Third, few frames are read: the first
of each span, then a sample only when some cell of the picture changed since the last
read *and has been steady since the previous sample*. Text that appears stays put for the
second or more it is shown, so its cells settle and get read; moving footage, whose cells
never settle, is not read again and again, and a static slide is read once. Samples
arrive at ``sample_fps``, so every text shown for at least ``1 / sample_fps`` seconds
lands on a sample.

Readings of the same text at the same place join one track. An unread sample with no
change still shows what the last read frame showed, so it extends those tracks: a track
ends at the last frame it was known to be visible, or at the span's end when that is the
span's last frame (samples are points; the text stays until the cut).
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from indexer.stages.base import Box, SampledFrame, Span, TextTrackRecord, cell_changes
from indexer.stages.ocr_lexicon import correct
from vidkg.stage_settings import OcrSettings

log = logging.getLogger(__name__)

SIMILAR = 0.8  # difflib ratio above which two readings are the same text (OCR noise)
# easyocr joins boxes of a line closer than this many text heights (its default, 0.5,
# splits captions such as "CAMERA 2" into words); a track is a line of text, not a word.
LINE_GAP = 1.0
# Share of a word blob's box its joined strokes fill: large letters (SANYO at a fifth of
# the frame height) leave hollow outlines, so half was too strict for them.
GATE_FILL = 0.4


def normalise(text: str) -> str:
    """Case and spacing vary between readings of the same text; compare without them."""
    return " ".join(text.lower().split())


def near(a: Box, b: Box) -> bool:
    """Boxes overlap once grown by a text height: readings of one text jitter in place."""
    m = max(a.y2 - a.y1, b.y2 - b.y1)
    return a.x1 - m < b.x2 and b.x1 - m < a.x2 and a.y1 - m < b.y2 and b.y1 - m < a.y2


def _cells_of(box: Box, cells: np.ndarray) -> np.ndarray:
    """The cells of a grid of changes that a normalised box covers."""
    rows, cols = cells.shape
    r0, r1 = int(box.y1 * rows), max(int(box.y1 * rows) + 1, math.ceil(box.y2 * rows))
    c0, c1 = int(box.x1 * cols), max(int(box.x1 * cols) + 1, math.ceil(box.x2 * cols))
    return cells[min(r0, rows - 1) : r1, min(c0, cols - 1) : c1]


Reading = tuple[str, float, Box]  # text, confidence, normalised box


def _joined(first: Reading, then: Reading) -> Reading:
    """Two readings as one: texts in reading order, the weaker confidence, both boxes."""
    (t1, c1, b1), (t2, c2, b2) = first, then
    box = Box(min(b1.x1, b2.x1), min(b1.y1, b2.y1), max(b1.x2, b2.x2), max(b1.y2, b2.y2))
    return (f"{t1} {t2}", min(c1, c2), box)


def join_lines(
    readings: list[tuple[str, float, Box]], aspect: float
) -> list[tuple[str, float, Box]]:
    """Join readings that sit on one line, left to right, a word gap apart: the detector
    splits widely spaced words ("VIDKG", "SAMPLE", "BRIEFING"), but a track is a line."""
    out: list[tuple[str, float, Box]] = []
    for text, conf, box in sorted(readings, key=lambda r: (r[2].x1, r[2].y1)):
        for i, (_, _, b2) in enumerate(out):
            height = max(box.y2 - box.y1, b2.y2 - b2.y1)
            same_line = abs((box.y1 + box.y2) - (b2.y1 + b2.y2)) / 2 < 0.5 * height
            gap = box.x1 - b2.x2
            # Boxes are fractions of the width and of the height; aspect = height / width.
            if same_line and -0.5 * height * aspect < gap < 2.0 * height * aspect:
                out[i] = _joined(out[i], (text, conf, box))
                break
        else:
            out.append((text, conf, box))
    return join_blocks(out)


def join_blocks(lines: list[tuple[str, float, Box]]) -> list[tuple[str, float, Box]]:
    """Join lines set one under the other (overlapping columns, less than a line apart),
    top to bottom: a title card's "NORTH / BRIDGE / CLOSED" is one text, searchable as a
    phrase, not three."""
    out: list[tuple[str, float, Box]] = []
    for text, conf, box in sorted(lines, key=lambda r: r[2].y1):
        for i, (_, _, b2) in enumerate(out):
            overlap = min(box.x2, b2.x2) - max(box.x1, b2.x1)
            narrower = min(box.x2 - box.x1, b2.x2 - b2.x1)
            height = box.y2 - box.y1
            if overlap >= 0.5 * narrower and -0.5 * height < box.y1 - b2.y2 < 0.8 * height:
                out[i] = _joined(out[i], (text, conf, box))
                break
        else:
            out.append((text, conf, box))
    return out


@dataclass(eq=False)  # identity: two tracks may hold equal values
class _Track:
    start_s: float
    last_s: float  # last frame time at which the text was known to be visible
    text: str
    norm: str
    confidence: float
    box: Box
    frame_count: int = 1

    def record(self, end_s: float) -> TextTrackRecord:
        return TextTrackRecord(
            self.start_s, end_s, self.text, self.confidence, self.box, self.frame_count
        )


class TextStage:
    """The ``ocr`` visual stage; ``reads`` counts frames sent to the reader (for tests
    and throughput accounting)."""

    name: ClassVar[str] = "ocr"

    def __init__(self, registry: Any, settings: OcrSettings) -> None:
        self.registry = registry
        self.settings = settings
        # Loaded now: a lexicon path that is wrong skips the stage, with the path, before
        # any video is decoded (the reader itself loads on the first frame to read).
        self.lexicon: frozenset[str] = registry.ocr_lexicon()
        self.reads = 0
        self.gated_in = self.gated_out = 0  # frames the text test let through / ruled out
        self._open: list[_Track] = []

    def start_chunk(self, chunk_start_s: float, chunk_end_s: float) -> None:
        self._open = []

    def process(self, span: Span, frames: Sequence[SampledFrame]) -> list[TextTrackRecord]:
        """Tracks of this span; all are closed at its end (another shot, other text)."""
        frames = sorted(frames, key=lambda f: f.t_s)
        if not frames:
            return []
        # At most one read per slot of the 1/sample_fps grid: the pipeline may sample
        # faster (for other stages), and samples land just after grid points, so the
        # first sample of each slot stays readable even after an off-grid span start.
        fps = self.settings.sample_fps
        done: list[TextTrackRecord] = []
        visible: list[_Track] = []  # tracks seen in the last frame read
        last_read: SampledFrame | None = None
        previous: SampledFrame | None = None
        threshold = self.settings.change_threshold
        for frame in frames:
            prev, previous = previous, frame
            if last_read is not None:
                since_read = cell_changes(frame.thumb, last_read.thumb)
                assert prev is not None
                settled = (since_read > threshold) & (
                    cell_changes(frame.thumb, prev.thumb) <= self.settings.steady_threshold
                )
                same_slot = math.floor(frame.t_s * fps + 1e-6) <= math.floor(
                    last_read.t_s * fps + 1e-6
                )
                if not settled.any() or same_slot:
                    # Not read. A text whose cells did not change is still there.
                    for track in visible:
                        if _cells_of(track.box, since_read).max() <= threshold:
                            track.last_s = frame.t_s
                    continue
            start = span.start_s if frame is frames[0] else frame.t_s
            readings = self.read(frame.image) if self.may_have_text(frame.image) else []
            visible = self._update(frame.t_s, start, readings, done)
            last_read = frame
        last_t = frames[-1].t_s
        for track in self._open:
            done.append(track.record(span.end_s if track.last_s >= last_t else track.last_s))
        self._open = []
        return sorted(done, key=lambda r: (r.start_s, r.box.y1, r.box.x1))

    def finish_chunk(self) -> list[TextTrackRecord]:
        """Tracks are closed at the end of every span, so nothing is normally left."""
        log.info(
            "ocr: %d frames read; the text test passed %d and ruled out %d",
            self.reads,
            self.gated_in,
            self.gated_out,
        )
        held = [t.record(t.last_s) for t in self._open]
        self._open = []
        return held

    def may_have_text(self, image: np.ndarray) -> bool:
        """A cheap test (about 2 ms) that rules out frames with no text-like strokes, so
        the detector (0.09 s) runs on fewer frames: strong edges, joined along lines,
        must form at least one word-shaped blob (a few pixels to 50 high, wider than
        tall, at least ``GATE_FILL`` filled). 0 turns it off. Calibrated on the 60-minute
        haystacks of seeds 1 and 2 (1 fps, labelled by ``truth.json``): at 60 it passes
        all 91 frames of scene-text photos (grey print on a projector, a teal sign in
        shade, which a threshold of 100 missed 32 times), all 1021 frames of cards and
        captions, 65 of 68 of captions on moving footage, and rules out a quarter of the
        frames that show no text."""
        threshold = self.settings.text_gate_threshold
        if threshold <= 0:
            return True
        h, w = image.shape[:2]
        small = cv2.resize(image, (320, max(1, round(320 * h / w))), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        edges = cv2.morphologyEx(grey, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        strokes = (edges > threshold).astype(np.uint8)
        lines = cv2.morphologyEx(strokes, cv2.MORPH_CLOSE, np.ones((1, 9), np.uint8))
        _, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
        for _, _, bw, bh, area in stats[1:]:
            if 4 <= bh <= 50 and 1.5 * bh <= bw <= 300 and area >= GATE_FILL * bw * bh:
                self.gated_in += 1
                return True
        self.gated_out += 1
        return False

    def read(self, image: np.ndarray) -> list[tuple[str, float, Box]]:
        """(text, confidence, normalised box) of each reading above ``min_confidence``.

        Boxes come from the detector on a scaled-down copy; the recogniser reads them on
        the full-resolution grey frame."""
        self.reads += 1
        reader = self.registry.ocr()
        h, w = image.shape[:2]
        scale = min(1.0, self.settings.detect_max_side / max(h, w))
        small = image
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        horizontal, free = reader.detect(small, min_size=10, width_ths=LINE_GAP)
        horizontal = [[round(v / scale) for v in b] for b in horizontal[0]]
        free = [[[round(x / scale), round(y / scale)] for x, y in poly] for poly in free[0]]
        if not horizontal and not free:
            return []
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        results = reader.recognize(grey, horizontal_list=horizontal, free_list=free)
        found = []
        for points, text, conf in results:
            text = correct(" ".join(str(text).split()), self.lexicon)
            if not text or float(conf) < self.settings.min_confidence:
                continue
            xs = [float(p[0]) for p in points]
            ys = [float(p[1]) for p in points]
            box = Box(
                max(0.0, min(xs) / w),
                max(0.0, min(ys) / h),
                min(1.0, max(xs) / w),
                min(1.0, max(ys) / h),
            )
            found.append((text, float(conf), box))
        return join_lines(found, h / w)

    def _update(
        self,
        t_s: float,
        start_s: float,
        readings: list[tuple[str, float, Box]],
        done: list[TextTrackRecord],
    ) -> list[_Track]:
        """Join the readings of one frame to open tracks (each track at most once),
        open tracks for new text, and close tracks unseen for more than ``track_gap_s``
        (a missed reading in between does not split a track)."""
        seen: list[_Track] = []
        for text, conf, box in sorted(readings, key=lambda r: -r[1]):
            norm = normalise(text)
            best, best_ratio = None, SIMILAR
            for track in self._open:
                if track in seen or not near(track.box, box):
                    continue
                ratio = difflib.SequenceMatcher(None, track.norm, norm).ratio()
                if ratio >= best_ratio:
                    best, best_ratio = track, ratio
            if best is None:
                best = _Track(start_s, t_s, text, norm, conf, box)
                self._open.append(best)
            else:
                best.last_s = t_s
                best.frame_count += 1
                if conf > best.confidence:
                    best.text, best.norm, best.confidence, best.box = text, norm, conf, box
            seen.append(best)
        for track in list(self._open):
            if track not in seen and t_s - track.last_s > self.settings.track_gap_s:
                done.append(track.record(track.last_s))
                self._open.remove(track)
        return seen
