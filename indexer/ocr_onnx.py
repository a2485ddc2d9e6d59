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

By default the exported network is then quantized to int8 once (static, per channel,
its activations calibrated on the frames in ``indexer/data/ocr_calibration``, taken from
the bundled sample): 2.6 times faster again on this CPU (232 ms to 89 ms a frame at
320 px). On 284 frames of the haystacks (20 minutes, seed 1; 60 minutes, seeds 1 and 2:
every on-screen text of their truth files 0.5 s after it appears, and 20 random frames
each), each of the float network's 402 boxes has an int8 box over it (IoU above 0.5),
and no box is added; ``tests/test_stage_ocr.py`` checks the int8 boxes against torch's
on real photos.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from indexer.onnx_cpu import cpu_session

log = logging.getLogger(__name__)

OPSET = 17
CALIBRATION = Path(__file__).parent / "data" / "ocr_calibration"
INT8_VERSION = 1  # bump when the quantization recipe or the calibration frames change


class OnnxCraft:
    """Called like easyocr's torch CRAFT module (``y, feature = net(x)``)."""

    def __init__(self, session: Any, path: Path) -> None:
        self.session = session
        self.path = path  # the model file it runs (float or int8)

    def __call__(self, x: Any) -> tuple[Any, None]:
        import torch

        (y,) = self.session.run(["y"], {"x": x.cpu().numpy()})
        return torch.from_numpy(y), None


def onnx_detector(reader: Any, cache_dir: Path, threads: int, int8: bool) -> OnnxCraft:
    """An onnxruntime session of ``reader``'s detector, exported (and, with ``int8``,
    quantized) on first use. A quantization that fails leaves the float network."""
    spec = reader.detection_models[reader.detect_network]
    weights = Path(reader.model_storage_directory) / spec["filename"]
    path = cache_dir / f"craft-{spec['md5sum']}-opset{OPSET}.onnx"
    if not path.exists():
        _export(weights, path)
    if int8:
        quantized = path.with_name(f"{path.stem}-int8v{INT8_VERSION}.onnx")
        try:
            if not quantized.exists():
                _quantize(path, quantized)
            path = quantized
        except Exception as exc:  # costs speed, not text
            log.warning("OCR text detector stays in float (int8 quantization failed: %s)", exc)
    return OnnxCraft(cpu_session(path, threads), path)


def _atomic(path: Path, write: Callable[[str], None]) -> None:
    """``write(tmp)`` into a temporary file beside ``path``, then rename it into place:
    workers that start together never read a half-written model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".onnx.part")
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporters' deprecation notes, once
            write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _export(weights: Path, path: Path) -> None:
    import torch
    from easyocr.craft import CRAFT
    from easyocr.detection import copyStateDict

    log.info("exporting the OCR text detector to %s (once)", path)
    net = CRAFT()
    state = torch.load(weights, map_location="cpu", weights_only=False)
    net.load_state_dict(copyStateDict(state))
    net.eval()
    _atomic(path, lambda tmp: _onnx_export(net, tmp))


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


def _calibration_inputs() -> Iterator[dict[str, Any]]:
    """The calibration frames as the detector sees them (easyocr's own preprocessing)."""
    import cv2
    import numpy as np
    from easyocr.imgproc import normalizeMeanVariance, resize_aspect_ratio

    for frame in sorted(CALIBRATION.glob("*.jpg")):
        rgb = cv2.cvtColor(cv2.imread(str(frame)), cv2.COLOR_BGR2RGB)
        x, _, _ = resize_aspect_ratio(rgb, 2560, interpolation=cv2.INTER_LINEAR, mag_ratio=1.0)
        x = normalizeMeanVariance(x).transpose(2, 0, 1)[None]
        yield {"x": np.ascontiguousarray(x, dtype=np.float32)}


def _quantize(source: Path, path: Path) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self.inputs = _calibration_inputs()

        def get_next(self) -> dict[str, Any] | None:
            return next(self.inputs, None)

    log.info("quantizing the OCR text detector to %s (once)", path)
    with tempfile.TemporaryDirectory(dir=path.parent) as work:
        prepared = str(Path(work) / "prepared.onnx")
        quant_pre_process(str(source), prepared, skip_symbolic_shape=True)

        def write(tmp: str) -> None:
            quantize_static(
                prepared,
                tmp,
                Frames(),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
            )

        _atomic(path, write)
