"""The object detector exported to ONNX, for the CPU.

ultralytics runs an exported ``.onnx`` model in onnxruntime with the same pre- and
post-processing as its torch model; exported with dynamic shapes, frames keep their
letterboxed rectangle (416x256 for 16:9) instead of a padded square. The export is made
once per weights file and size, from a copy in the model cache (the weights may sit in a
read-only package folder), and moved into place atomically.

It stays in float. Quantized to int8 the way the OCR detector is (static, calibrated on
the bundled sample's frames, the head left in float), it ran in 33 ms a frame instead of
58 ms, but on 18 frames of the 20-minute haystack's pedestrian footage it found 49
people where float found 54 (48 of them the same): a person missed is not worth 40%
of the detector's time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def exportable(weights: str) -> bool:
    """A local torch checkpoint (a hub name or an exported model is used as it is)."""
    return weights.endswith(".pt") and Path(weights).is_file()


def onnx_weights(weights: str, cache_dir: Path, imgsz: int) -> Path:
    """The ONNX export of ``weights`` at ``imgsz``, made on first use."""
    digest = hashlib.sha256(Path(weights).read_bytes()).hexdigest()[:16]
    target = cache_dir / f"detector-{digest}-{imgsz}.onnx"
    if target.exists():
        return target
    from ultralytics import YOLO

    log.info("exporting the object detector %s to %s (once)", weights, target)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        copy = Path(tmp) / Path(weights).name
        shutil.copyfile(weights, copy)
        out = YOLO(str(copy)).export(
            format="onnx", imgsz=imgsz, dynamic=True, simplify=False, verbose=False
        )
        os.replace(out, target)
    return target


def share_cores(model: Any, path: str, threads: int) -> bool:
    """Give ultralytics' onnxruntime session of ``model`` (predictor built) our thread
    count and idle threads that sleep (``indexer.onnx_cpu``). ultralytics opens it with
    onnxruntime's defaults: a thread per core, spinning between frames, which on two
    cores took CPU from the decoder beside it and, with two single-threaded workers, from
    the other worker. False (logged) where its inner layout is not the one known here."""
    from indexer.onnx_cpu import cpu_session

    backend = getattr(getattr(getattr(model, "predictor", None), "model", None), "backend", None)
    if getattr(backend, "session", None) is None or getattr(backend, "format", None) != "onnx":
        log.warning("the object detector keeps onnxruntime's default threads (unknown layout)")
        return False
    backend.session = cpu_session(path, threads)
    return True
