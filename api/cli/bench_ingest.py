"""``vidkg bench ingest VIDEO``: where ingest time goes, x realtime and peak memory.

Every run uses a private, fresh embedded database (nothing is resumed, nothing of the
user's is touched) and this process's own models, so its numbers are one cold ingest.
Memory is sampled after every chunk and stage so growth with video length shows.

``--floor`` then ingests the same video twice more in the same process, once with shot
detection alone (decoding every frame: the video pass's own cost) and once with speech
alone, and reports the ratio of the full ingest to their sum: how far ingest is from what
this machine must spend anyway. ``--truth`` scores what was extracted against a bench
haystack (:mod:`api.cli.bench_quality`).
"""

from __future__ import annotations

import contextlib
import json
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from api.cli.bench_quality import extraction_quality
from api.cli.ingest_progress import report_json
from indexer.catalog import register_video
from indexer.models import ModelRegistry
from indexer.pipeline import IngestReport, Pipeline
from indexer.readback import evidence_counts
from vidkg.db import Database, open_database
from vidkg.db.embedded import EmbeddedPostgres
from vidkg.settings import Settings

Measure = Callable[[Database, int], dict[str, Any]]
FLOOR_STAGES = {"decode_and_shots": ["scenes"], "asr": ["asr"]}


def per_tenth(samples: list[float]) -> list[float]:
    """The largest RSS in each tenth of the run: flat means memory does not grow."""
    if not samples:
        return []
    step = max(1, len(samples) // 10)
    return [round(max(samples[i : i + step]), 1) for i in range(0, len(samples), step)]


def tree_mb(process: psutil.Process) -> float:
    """RSS of this process and its children (VIDKG_INDEXER__PROCESSES > 1), in MB."""
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += child.memory_info().rss
    return total / 2**20


def scratch_ingest(
    settings: Settings,
    registry: ModelRegistry,
    video: Path,
    stages: list[str],
    measure: Measure | None = None,
) -> tuple[float, IngestReport, dict[str, Any], list[float]]:
    """(wall, report, counts and measures, RSS samples) of one ingest into a fresh
    database that is removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="vidkg-bench-"))
    settings = settings.model_copy(update={"home": scratch, "database_url": None})
    rss: list[float] = []
    process = psutil.Process()
    try:
        db = open_database(settings)
        reg = register_video(db.sessions, settings, video)
        pipeline = Pipeline(db, settings, registry)
        t0 = time.perf_counter()
        report = pipeline.ingest(reg.video_id, stages, lambda *_: rss.append(tree_mb(process)))
        wall = time.perf_counter() - t0
        found: dict[str, Any] = {"counts": evidence_counts(db.sessions, reg.video_id)}
        if measure is not None:
            found["quality"] = measure(db, reg.video_id)
        db.dispose()
    finally:
        EmbeddedPostgres(settings.pgdata_dir).stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return wall, report, found, rss


def bench_ingest(
    settings: Settings,
    registry: ModelRegistry,
    video: Path,
    stages: list[str],
    truth: Path | None = None,
    floor: bool = False,
) -> dict[str, Any]:
    """The full ingest's numbers, then (``floor``) the floor's, as one JSON document."""
    measure: Measure | None = None
    if truth is not None:
        expected = json.loads(truth.read_text())
        measure = lambda db, vid: extraction_quality(db, vid, expected)  # noqa: E731
    wall, report, found, rss = scratch_ingest(settings, registry, video, stages, measure)
    # This process's own peak; with local child processes, the largest sum sampled.
    peak = max([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, *rss])
    result: dict[str, Any] = {
        "video": str(video),
        "duration_s": report.duration_s,
        "wall_s": round(wall, 2),
        "realtime": round(report.duration_s / wall, 2),
        "processes": settings.indexer.processes,
        "peak_rss_mb": round(peak, 1),
        "rss_mb_first_last": [round(rss[0], 1), round(rss[-1], 1)] if rss else None,
        "rss_mb_max_per_tenth": per_tenth(rss),
        **found,
        "report": report_json(report),
    }
    if floor:
        result["floor"] = _floor(settings, registry, video, wall - report.model_load_s)
    return result


def _floor(
    settings: Settings, registry: ModelRegistry, video: Path, work_s: float
) -> dict[str, float]:
    """Seconds of shot detection alone and of speech alone (models already loaded), and
    the full ingest's time without model loading over their sum."""
    out = {}
    for name, stages in FLOOR_STAGES.items():
        wall, report, _, _ = scratch_ingest(settings, registry, video, stages)
        out[f"{name}_s"] = round(wall - report.model_load_s, 2)
    out["floor_s"] = round(sum(out.values()), 2)
    out["ratio"] = round(work_s / out["floor_s"], 2) if out["floor_s"] else 0.0
    return out
