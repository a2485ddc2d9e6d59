"""Frame reading for the ``uniform`` baseline: OCR and detection on a few sampled frames.

The indexer's own models (easyocr, the YOLO detector) read the frames, so the baseline
differs from vidkg in what it keeps and how it retrieves, not in its eyes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.models import ModelRegistry
from retrieval.baselines import FrameNote

if TYPE_CHECKING:
    import numpy as np


def read_frames(
    path: Path, times: Sequence[float], registry: ModelRegistry, width: int = 640
) -> list[FrameNote]:
    """OCR texts and detected labels of the frame at (or just after) each time."""
    import av

    notes = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for t in times:
            container.seek(int(t / stream.time_base), stream=stream, backward=True)
            frame = next(
                (f for f in container.decode(stream) if f.time is not None and f.time >= t - 0.02),
                None,
            )
            if frame is None:
                continue
            h = round(frame.height * width / frame.width)
            image = frame.to_ndarray(format="rgb24", width=width, height=h)
            notes.append(FrameNote(t, _texts(registry, image), _objects(registry, image)))
    return notes


def _texts(registry: ModelRegistry, image: np.ndarray) -> tuple[str, ...]:
    found = registry.ocr().readtext(image)
    return tuple(str(t).strip() for _, t, conf in found if float(conf) >= 0.3 and str(t).strip())


def _objects(registry: ModelRegistry, image: np.ndarray) -> tuple[str, ...]:
    model = registry.detector()
    result = model.predict(image[:, :, ::-1].copy(), imgsz=416, conf=0.35, verbose=False)[0]
    names = dict(model.names)
    labels = [names.get(int(c), str(int(c))) for c in result.boxes.cls.tolist()]
    return tuple(f"{label} x{labels.count(label)}" for label in sorted(set(labels)))
