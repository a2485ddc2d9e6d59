"""Frame reading for the ``uniform`` baseline: OCR and detection on a few sampled frames.

It sees with the indexer's own parts: frames decoded by ``indexer.media.VideoReader``,
text read by the OCR stage's reader, objects by the same detector and settings, so the
baseline differs from vidkg in what it keeps and how it retrieves, not in its eyes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.media import VideoReader
from indexer.models import ModelRegistry
from indexer.stages.ocr import TextStage
from retrieval.baselines import FrameNote

if TYPE_CHECKING:
    import numpy as np


def read_frames(path: Path, times: Sequence[float], registry: ModelRegistry) -> list[FrameNote]:
    """OCR texts and detected labels of the first frame at or after each time."""
    cfg = registry.settings
    reader = VideoReader(path, cfg.frame_width)
    ocr = TextStage(registry, cfg.ocr)
    notes = []
    for t in times:
        decoded = reader.frames(t, t + 1.0, lambda _t: True)
        frame = next(decoded, None)
        decoded.close()  # closes the container now, not when collected
        if frame is None or frame.image is None:
            continue
        texts = tuple(text for text, _conf, _box in ocr.read(frame.image))
        notes.append(FrameNote(frame.t_s, texts, _objects(registry, frame.image)))
    return notes


def _objects(registry: ModelRegistry, image: np.ndarray) -> tuple[str, ...]:
    model, cfg = registry.detector(), registry.settings.detect
    bgr = image[:, :, ::-1].copy()
    result = model.predict(bgr, imgsz=cfg.imgsz, conf=cfg.confidence, verbose=False)[0]
    names = dict(model.names)
    raw = [names.get(int(c), str(int(c))) for c in result.boxes.cls.tolist()]
    labels = [cfg.label_map.get(n, n) for n in raw]  # as the detect stage names them
    return tuple(f"{label} x{labels.count(label)}" for label in sorted(set(labels)))
