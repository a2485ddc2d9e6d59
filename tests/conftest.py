"""Shared fixtures: a real embedded PostgreSQL (18 + pgvector) for the whole session.

Each test that needs the database gets its own database, cloned from a migrated
template (``CREATE DATABASE ... TEMPLATE``), so tests never see each other's rows and
the migrations run once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text

from indexer.catalog import register_video
from indexer.models import ModelRegistry
from indexer.pipeline import Pipeline
from indexer.plan import IngestReport
from tests.brokers import any_broker, broker, sample_reference  # noqa: F401 - fixtures
from tests.fake_chat import fake  # noqa: F401 - a fixture for every test module
from tests.support import ALSA_VOICE, BENCH, OPENCV_DATA, SAMPLE, TEMPLATE_DB, VTEST, require
from vidkg.db import Database, open_database
from vidkg.db.embedded import EmbeddedPostgres
from vidkg.settings import Settings


@pytest.fixture(scope="session", autouse=True)
def shared_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One models folder for every home of the run, workers and CLI subprocesses included:
    whisper is joined and the detectors exported once, not once per fresh home."""
    folder = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VIDKG_MODELS_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def vidkg_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("vidkg-home")
    yield home
    EmbeddedPostgres(home / "pgdata").stop()


@pytest.fixture(scope="session")
def template_db(vidkg_home: Path) -> str:
    """Start the embedded server once and migrate a template database."""
    settings = Settings(home=vidkg_home, embedded_database=TEMPLATE_DB)
    open_database(settings).dispose()
    return TEMPLATE_DB


def _admin_dsn(home: Path) -> str:
    url = EmbeddedPostgres(home / "pgdata", "postgres").start()
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_database(vidkg_home: Path, template_db: str) -> Iterator[Settings]:
    """Settings pointing at a new database cloned from the migrated template."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_dsn(vidkg_home), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    media_home = vidkg_home / name
    media_home.mkdir()
    (media_home / "pgdata").symlink_to(vidkg_home / "pgdata")
    try:
        yield Settings(home=media_home, embedded_database=name)
    finally:
        with psycopg.connect(_admin_dsn(vidkg_home), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        shutil.rmtree(media_home, ignore_errors=True)


@pytest.fixture
def settings(vidkg_home: Path, template_db: str) -> Iterator[Settings]:
    """Settings pointing at a fresh, migrated database of this test's own."""
    with fresh_database(vidkg_home, template_db) as fresh:
        yield fresh


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Good and bad media files made from Debian's real videos and sounds."""
    out = tmp_path_factory.mktemp("media")
    vtest = require(VTEST)

    def ffmpeg(*args: str) -> None:
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)

    common = ["-i", str(vtest), "-t", "20", "-c:v", "libx264", "-preset", "ultrafast"]
    ffmpeg(*common, "-movflags", "+faststart", str(out / "good.mp4"))
    ffmpeg(*common, str(out / "moov_at_end.mp4"))
    # A raw H.264 elementary stream: no container, no duration, cannot seek.
    ffmpeg(
        "-i",
        str(vtest),
        "-t",
        "5",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-f",
        "h264",
        str(out / "raw.h264"),
    )
    good = (out / "good.mp4").read_bytes()
    (out / "truncated.mp4").write_bytes(good[: len(good) // 2])
    moov_end = (out / "moov_at_end.mp4").read_bytes()
    (out / "truncated_moov_missing.mp4").write_bytes(moov_end[: len(moov_end) // 2])
    avi = vtest.read_bytes()
    (out / "truncated.avi").write_bytes(avi[: len(avi) // 2])
    # Keep the headers, zero the coded pictures: the container opens, nothing decodes.
    mdat = good.find(b"mdat") + 4 + 64
    (out / "undecodable.mp4").write_bytes(good[:mdat] + bytes(len(good) - mdat))
    (out / "empty.mp4").write_bytes(b"")
    (out / "notes.txt").write_text("meeting notes, not a video\n" * 50)
    shutil.copy(require(OPENCV_DATA / "baboon.jpg"), out / "photo.jpg")
    shutil.copy(require(ALSA_VOICE), out / "voice.wav")
    ffmpeg("-i", str(ALSA_VOICE), "-c:a", "aac", str(out / "voice.m4a"))
    return out


@pytest.fixture(scope="session")
def registry(shared_models: Path) -> ModelRegistry:
    """The real models (offline weight packages), loaded once for the whole run."""
    return ModelRegistry(Settings().indexer, shared_models)


@dataclass
class IngestedHaystack:
    """The 5-minute haystack, ingested in-process with every default stage."""

    truth: dict
    video: Path
    settings: Settings  # of the database holding its rows (kept for the whole session)


HAYSTACK_CHUNK_S = 100.0  # three chunks: chunk edges are exercised


def with_chunk_s(settings: Settings, chunk_s: float) -> Settings:
    return settings.model_copy(
        update={"indexer": settings.indexer.model_copy(update={"chunk_s": chunk_s})}
    )


@pytest.fixture(scope="session")
def haystack5(
    tmp_path_factory: pytest.TempPathFactory,
    vidkg_home: Path,
    template_db: str,
    registry: ModelRegistry,
) -> Iterator[IngestedHaystack]:
    """Built with ../shared/bench (seed 1) and ingested once for the quality tests and
    the distributed-equals-in-process test."""
    out = tmp_path_factory.mktemp("haystack5")
    subprocess.run(
        [
            sys.executable,
            str(require(BENCH / "make_haystack.py")),
            *("--out", str(out), "--minutes", "5", "--seed", "1"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    truth = json.loads((out / "truth.json").read_text())
    with fresh_database(vidkg_home, template_db) as fresh:
        settings = with_chunk_s(fresh, HAYSTACK_CHUNK_S)
        db = open_database(settings)
        video_id = register_video(db.sessions, settings, out / "video.mp4").video_id
        report = Pipeline(db, settings, registry).ingest(video_id, settings.indexer.stages)
        db.dispose()
        assert report.status == "succeeded", report.failures
        yield IngestedHaystack(truth, out / "video.mp4", settings)


@dataclass
class Ingested:
    settings: Settings
    db: Database
    video_id: int
    report: IngestReport
    pipeline: Pipeline

    def rows(self, sql: str, **params: object) -> list[dict]:
        with self.db.engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql), params).mappings()]


@pytest.fixture(scope="session")
def sample(vidkg_home: Path, template_db: str, registry: ModelRegistry) -> Iterator[Ingested]:
    """``samples/briefing.mp4`` ingested once with every default stage. Tests read it;
    one re-runs stages (rows are replaced, ids change), so look rows up, never cache ids."""
    with fresh_database(vidkg_home, template_db) as settings:
        db = open_database(settings)
        video_id = register_video(db.sessions, settings, SAMPLE).video_id
        pipeline = Pipeline(db, settings, registry)
        report = pipeline.ingest(video_id, settings.indexer.stages)
        yield Ingested(settings, db, video_id, report, pipeline)
        db.dispose()
