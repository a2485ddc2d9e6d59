"""Search while a video is still being indexed, and ``vidkg eval`` against the
baselines, on the 5-minute haystack (seed 1; conftest ``haystack5``, ingested once per
session). Split from ``test_retrieval_haystack.py``, whose tests share one service over
the finished index; these two ingest or run the CLI themselves."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from api.services import retrieval_service
from indexer.catalog import register_video
from indexer.models import ModelRegistry
from indexer.pipeline import Pipeline
from retrieval.types import Scope
from tests.conftest import IngestedHaystack, with_chunk_s
from tests.support import BENCH, run_cli
from vidkg.db import open_database
from vidkg.settings import Settings

# ---- searchable while the rest of the video is still being indexed ------------------------


def test_evidence_is_searchable_as_soon_as_its_chunk_is_stored(
    haystack5: IngestedHaystack, settings: Settings, registry: ModelRegistry
) -> None:
    """Speech only, in 60-second chunks: the first needle is found while later chunks
    are still being transcribed."""
    first = min(
        (q for q in haystack5.truth["questions"] if q["type"] == "speech"),
        key=lambda q: q["evidence"][0][0],
    )
    assert first["evidence"][0][1] < 60.0  # in the first chunk
    settings = with_chunk_s(settings, 60.0)
    db = open_database(settings)
    video_id = register_video(db.sessions, settings, haystack5.video).video_id
    service = retrieval_service(settings, db, registry)
    job = threading.Thread(target=Pipeline(db, settings, registry).ingest, args=(video_id, ["asr"]))
    job.start()
    found_while_running = False
    try:
        while job.is_alive() and not found_while_running:
            result = service.search(first["question"], Scope((video_id,)), k=3)
            found_while_running = (
                any(
                    m.start_s <= first["evidence"][0][1] and first["evidence"][0][0] <= m.end_s
                    for m in result.moments
                )
                and job.is_alive()
            )
            time.sleep(0.2)
    finally:
        job.join()
        db.dispose()
    assert found_while_running


# ---- vidkg eval, against the baselines, scored by the bench's own score.py ---------------


def _score(truth: Path, pred: Path) -> dict:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH / "score.py"),
            "--truth",
            str(truth),
            "--pred",
            str(pred),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout)["qa"]["overall"]


def test_eval_writes_predictions_that_beat_both_baselines(
    haystack5: IngestedHaystack, tmp_path: Path
) -> None:
    hay = tmp_path / "hay"
    hay.mkdir()
    (hay / "video.mp4").symlink_to(haystack5.video)
    (hay / "truth.json").write_text("{not json")
    broken = run_cli(
        haystack5.settings,
        "eval",
        "--truth",
        str(hay / "truth.json"),
        "--out",
        str(tmp_path / "broken.jsonl"),
    )
    assert broken.returncode == 1 and "not a questions file" in broken.stderr, broken.stderr
    (hay / "truth.json").write_text(json.dumps(haystack5.truth))
    scores = {}
    for name in ("vidkg", "transcript", "uniform"):
        out = tmp_path / f"{name}.jsonl"
        args = ["eval", "--truth", str(hay / "truth.json"), "--out", str(out)]
        done = run_cli(
            haystack5.settings, *args, *(["--baseline", name] if name != "vidkg" else [])
        )
        assert done.returncode == 0, done.stderr
        assert "unanswerable: 100% of 24 abstained" in done.stdout, done.stdout
        assert "p95 ms" in done.stdout
        lines = [json.loads(x) for x in out.read_text().splitlines()]
        assert len(lines) == len(haystack5.truth["questions"])
        scores[name] = _score(hay / "truth.json", out)
    assert scores["vidkg"]["accuracy"] >= 0.7, scores
    assert scores["vidkg"]["accuracy"] > scores["transcript"]["accuracy"] + 0.2, scores
    assert scores["vidkg"]["accuracy"] > scores["uniform"]["accuracy"] + 0.2, scores
