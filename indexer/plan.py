"""What an ingest run works on and reports: stage lists, chunks of the timeline, totals."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from indexer.media import keyframe_times
from vidkg.schema import Video
from vidkg.stage_settings import STAGES


@dataclass(frozen=True)
class Chunk:
    index: int
    start_s: float
    end_s: float

    @property
    def key(self) -> tuple[int, float, float]:
        return (self.index, self.start_s, self.end_s)


# A job's work is cut into units: per chunk, one decode pass for the picture stages, one
# for speech, then the stages that read both back; then per job the graph build and the
# finalize step.
VISUAL = ("scenes", "ocr", "detect", "clip")
SPEECH = ("asr",)
DERIVED = ("caption", "embed")  # read other stages' rows back: run last, in this order
UNIT_STAGES: dict[str, tuple[str, ...]] = {"visual": VISUAL, "asr": SPEECH, "derived": DERIVED}
GRAPH = "graph"  # checkpoint stage name of a job's knowledge-graph build
FINALIZE = "finalize"  # checkpoint stage name of a job's finalize step
JOB_STEPS = (GRAPH, FINALIZE)  # once per job (chunk 0), in this order, after every chunk
CHUNK_KINDS = ("visual", "asr", "derived")
UNIT_KINDS = (*CHUNK_KINDS, *JOB_STEPS)


@dataclass(frozen=True)
class Unit:
    """One task: ``kind`` of the stages of chunk ``chunk`` (job steps: chunk 0)."""

    chunk: int
    kind: str

    def stages(self, job_stages: list[str]) -> list[str]:
        """The job's stages this unit runs, in pipeline order (a job step: itself)."""
        if self.kind in JOB_STEPS:
            return [self.kind]
        return [s for s in job_stages if s in UNIT_STAGES.get(self.kind, ())]


def unit_of(stage: str, chunk: int) -> Unit:
    """The unit that runs ``stage`` of ``chunk`` (a job step's unit is chunk 0)."""
    if stage in JOB_STEPS:
        return Unit(0, stage)
    kind = next((k for k, names in UNIT_STAGES.items() if stage in names), None)
    if kind is None:
        raise ValueError(f"no unit runs stage {stage!r}")
    return Unit(chunk, kind)


@dataclass
class StageReport:
    """Totals of one stage over an ingest run."""

    seconds: float = 0.0
    rows: int = 0
    chunks_done: int = 0
    chunks_skipped: int = 0  # already done before this run (resume)
    skipped_reason: str | None = None


@dataclass
class IngestReport:
    video_id: int
    job_id: int
    duration_s: float
    status: str = "running"
    chunks: int = 0
    wall_s: float = 0.0
    decode_s: float = 0.0
    model_load_s: float = 0.0
    stages: dict[str, StageReport] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    graph: dict[str, int] = field(default_factory=dict)  # rows of the graph build
    graph_s: float = 0.0

    @property
    def realtime(self) -> float:
        return self.duration_s / self.wall_s if self.wall_s > 0 else 0.0


Progress = Callable[[str, float], None]  # (stage, seconds of timeline just finished)


def parse_stages(names: str | list[str] | None, default: list[str]) -> list[str]:
    """Validate a stage list (``asr,ocr``) and put it in pipeline order."""
    if names is None:
        wanted = list(default)
    else:
        raw = names.split(",") if isinstance(names, str) else names
        wanted = [n.strip() for n in raw if n.strip()]
    unknown = sorted(set(wanted) - set(STAGES))
    if unknown:
        raise ValueError(f"unknown stage(s) {', '.join(unknown)}; choose from {', '.join(STAGES)}")
    return [s for s in STAGES if s in wanted]


def plan_chunks(video: Video, chunk_s: float) -> list[Chunk]:
    """Cut [0, readable end) into chunks near multiples of ``chunk_s``, at keyframes."""
    end = video.decodable_s or video.duration_s
    n = max(1, math.ceil(end / chunk_s - 0.1))  # no sliver chunk of a few seconds
    bounds = [0.0]
    keys = keyframe_times(video.source_path, end) if video.has_video else []
    for i in range(1, n):
        target = i * end / n
        near = [k for k in keys if bounds[-1] + chunk_s / 2 < k <= target]
        bounds.append(near[-1] if near else target)
    bounds.append(end)
    return [Chunk(i, a, b) for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))]
