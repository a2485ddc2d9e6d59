"""easyocr's text detector (CRAFT) under onnxruntime, for the CPU.

The detector is most of the OCR stage's time. easyocr runs it in torch, whose CPU
convolutions at the small sizes used here (320 px) are slower than onnxruntime's: on the
scene-text frames of the haystack, 0.36-0.41 s a frame instead of 0.61-0.87 s while
another process shared the two cores; the OCR stage of the 60-minute haystack took 214 s
instead of 314 s with it (and with the text test letting more frames through). The
recogniser stays easyocr's. The network is
exported once from easyocr's own weights into the model cache, keyed by their checksum,
and written atomically, so workers that start together never read a half-written file.
The same boxes come out (checked in ``tests/test_stage_ocr.py``).
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

OPSET = 17


class OnnxCraft:
    """Called like easyocr's torch CRAFT module (``y, feature = net(x)``)."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def __call__(self, x: Any) -> tuple[Any, None]:
        import torch

        (y,) = self.session.run(["y"], {"x": x.cpu().numpy()})
        return torch.from_numpy(y), None


def onnx_detector(reader: Any, cache_dir: Path, threads: int) -> OnnxCraft:
    """An onnxruntime session of ``reader``'s detector, exported on first use."""
    import onnxruntime as ort

    spec = reader.detection_models[reader.detect_network]
    weights = Path(reader.model_storage_directory) / spec["filename"]
    path = cache_dir / f"craft-{spec['md5sum']}-opset{OPSET}.onnx"
    if not path.exists():
        _export(weights, path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle threads sleep instead of spinning: the other models of the process need the cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return OnnxCraft(session)


def _export(weights: Path, path: Path) -> None:
    import torch
    from easyocr.craft import CRAFT
    from easyocr.detection import copyStateDict

    log.info("exporting the OCR text detector to %s (once)", path)
    net = CRAFT()
    state = torch.load(weights, map_location="cpu", weights_only=False)
    net.load_state_dict(copyStateDict(state))
    net.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".onnx.part")
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation notes, once
            _onnx_export(net, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _onnx_export(net: Any, tmp: str) -> None:
    import torch

    torch.onnx.export(
        net,
        (torch.zeros(1, 3, 192, 320),),
        tmp,
        input_names=["x"],
        output_names=["y", "feature"],
        dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "y": {0: "n", 1: "h2", 2: "w2"}},
        opset_version=OPSET,
        dynamo=False,
    )
