"""``vidkg`` as a user runs it: real processes, the real embedded database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support import MEGAMIND, REPO, VTEST, cli_env, require, run_cli
from vidkg.db import Database
from vidkg.settings import Settings


def _videos(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM videos")).scalar_one()


def test_ingest_records_probed_metadata(db: Database, settings: Settings) -> None:
    result = run_cli(settings, "ingest", "--register-only", str(require(VTEST)))
    assert result.returncode == 0, result.stderr
    assert "registered video" in result.stdout and "768x576" in result.stdout
    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM videos")).mappings().one()
    assert row["file_name"] == "vtest.avi"
    assert row["source_path"] == str(VTEST.resolve())
    assert (row["width"], row["height"], row["fps"], row["frame_count"]) == (768, 576, 10.0, 795)
    assert row["duration_s"] == pytest.approx(79.5, abs=0.05)
    assert row["video_codec"] == "msmpeg4" and row["has_audio"] is False
    assert row["size_bytes"] == VTEST.stat().st_size
    assert row["status"] == "registered"
    assert row["duration_tc"].total_seconds() == pytest.approx(79.5, abs=0.05)

    again = run_cli(settings, "ingest", "--register-only", str(VTEST))
    assert again.returncode == 0
    assert f"already registered as video {row['id']}" in again.stdout
    assert _videos(db) == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.mp4", "the file is empty"),
        ("notes.txt", "not a video file"),
        ("photo.jpg", "a still image"),
        ("truncated_moov_missing.mp4", "truncated or damaged MP4/MOV"),
        ("undecodable.mp4", "no decodable frames"),
        ("does-not-exist.mp4", "no such file"),
    ],
)
def test_bad_input_gets_a_clear_error_and_stores_nothing(
    db: Database, settings: Settings, media: Path, name: str, message: str
) -> None:
    result = run_cli(settings, "ingest", str(media / name))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"rejected {media / name}: {message}" in result.stderr
    assert _videos(db) == 0


def test_one_bad_file_does_not_stop_the_good_ones(
    db: Database, settings: Settings, media: Path
) -> None:
    result = run_cli(
        settings,
        "ingest",
        "--json",
        "--stages",
        "scenes",
        str(media / "notes.txt"),
        str(require(MEGAMIND)),
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)["results"]
    assert [r["status"] for r in report] == ["rejected", "ingested"]
    assert report[0]["reason"] == "not_a_video"
    assert report[1]["probe"]["audio_codec"] == "ac3"
    assert _videos(db) == 1


def test_videos_list_show_delete(db: Database, settings: Settings) -> None:
    assert run_cli(settings, "ingest", "--register-only", str(require(VTEST))).returncode == 0
    listing = run_cli(settings, "videos", "list")
    assert "vtest.avi" in listing.stdout and "registered" in listing.stdout
    shown = json.loads(run_cli(settings, "videos", "show", "1").stdout)
    assert shown["sha256"] and shown["width"] == 768
    assert run_cli(settings, "videos", "delete", "1").returncode == 0
    assert _videos(db) == 0
    missing = run_cli(settings, "videos", "delete", "1")
    assert missing.returncode == 1 and "no video 1" in missing.stdout


def test_db_status_and_url(settings: Settings, db: Database) -> None:
    status = run_cli(settings, "db", "status")
    assert status.returncode == 0
    assert "running: pid" in status.stdout and "schema revision 0008" in status.stdout
    url = run_cli(settings, "db", "url").stdout.strip()
    assert url.startswith("postgresql://postgres@/" + settings.embedded_database)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"meta": 3, "speech": [], "onscreen_text": [], "cuts": [], "questions": []}',
        '{"meta": {"duration_s": 60}, "speech": []}',
    ],
)
def test_bench_refuses_a_bad_truth_file_before_ingesting(
    settings: Settings, tmp_path: Path, content: str
) -> None:
    truth = tmp_path / "truth.json"
    truth.write_text(content)
    done = run_cli(settings, "bench", "ingest", str(require(VTEST)), "--truth", str(truth))
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(truth.name) in done.stderr and "Traceback" not in done.stderr


def test_a_mistyped_setting_is_named_not_traced(settings: Settings) -> None:
    """Settings refuse typos (nested keys forbid extras, values are bounded); the CLI says
    which variable is wrong and exits 2 instead of printing a traceback."""
    env = cli_env(settings) | {
        "VIDKG_INDEXER__DEVICE": "cdua",
        "VIDKG_INDEXER__OCR__DETECTOR_RUNTME": "onnx",
    }
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "videos", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "VIDKG_INDEXER__DEVICE: Input should be 'auto', 'cpu' or 'cuda'" in done.stderr
    assert "VIDKG_INDEXER__OCR__DETECTOR_RUNTME: no such setting" in done.stderr
