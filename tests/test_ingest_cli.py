"""``vidkg ingest`` end to end in a child process: stages, JSON report, resume, summary."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from sqlalchemy import text

from tests.support import REPO, SAMPLE, cli_env, run_cli
from vidkg.db import open_database
from vidkg.settings import Settings


def test_ingest_chosen_stages_then_resume(settings: Settings) -> None:
    first = run_cli(settings, "ingest", "--json", "--stages", "asr,scenes", str(SAMPLE))
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)["results"][0]
    assert result["status"] == "ingested"
    assert list(result["report"]["stages"]) == ["scenes", "asr"]  # pipeline order
    assert result["counts"]["scenes"] == 9 and result["counts"]["cuts"] == 8
    assert result["counts"]["words"] >= 40 and result["counts"]["text_tracks"] == 0
    assert result["report"]["realtime"] > 0

    again = run_cli(settings, "ingest", "--stages", "scenes,asr", str(SAMPLE))
    assert again.returncode == 0, again.stderr
    assert "already registered as video 1" in again.stdout
    assert "1 chunk(s) already done" in again.stdout and "x realtime" in again.stdout
    assert "9 scenes, 8 cuts" in again.stdout


def test_unknown_stage_is_refused(settings: Settings) -> None:
    result = run_cli(settings, "ingest", "--stages", "asr,faces", str(SAMPLE))
    assert result.returncode == 2
    assert "unknown stage(s) faces; choose from scenes, asr, ocr" in result.stderr


def test_killed_ingest_resumes_without_loss_or_duplicates(settings: Settings) -> None:
    """SIGKILL `vidkg ingest` once its first chunk is written; the next run finishes the
    rest, and the rows are those of an uninterrupted run."""
    env = {**cli_env(settings), "VIDKG_INDEXER__CHUNK_S": "20"}
    args = [sys.executable, "-m", "api.cli", "ingest", "--stages", "scenes,asr", str(SAMPLE)]
    db = open_database(settings)
    try:
        child = subprocess.Popen(
            args, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while _done_chunks(db) < 1 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        child.kill()
        child.wait()
        killed_at = _done_chunks(db)
        assert 1 <= killed_at < 6, "the kill came after the first chunk and before the end"
        resumed = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True)
        assert resumed.returncode == 0, resumed.stderr
        with db.engine.connect() as conn:
            states = conn.execute(
                text("SELECT status, count(*) FROM ingest_checkpoints GROUP BY status")
            ).all()
            scenes = conn.execute(text("SELECT start_s FROM scenes ORDER BY 1")).scalars().all()
            words = (
                conn.execute(
                    text(
                        "SELECT (w->>'start_s')::float FROM speech_segments, "
                        "jsonb_array_elements(words) w ORDER BY 1"
                    )
                )
                .scalars()
                .all()
            )
            jobs = conn.execute(text("SELECT status FROM ingest_jobs ORDER BY id")).scalars().all()
    finally:
        db.dispose()
    assert dict(states) == {"done": 8}  # 3 chunks x 2 stages, the graph and finalize
    assert len(scenes) == len(set(scenes)) == 9
    assert len(words) == len(set(words)) >= 40  # no word written twice
    assert jobs == ["succeeded"]  # the killed run's job was taken over, not left running


def _done_chunks(db) -> int:
    with db.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM ingest_checkpoints "
                "WHERE status = 'done' AND stage NOT IN ('graph', 'finalize')"
            )
        ).scalar_one()
