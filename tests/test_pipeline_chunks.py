"""The pipeline's plumbing on real files: chunk edges, rotation, odd sizes, variable rate."""

from __future__ import annotations

import gc
import json
import subprocess
import weakref
from pathlib import Path

import av
import pytest
from PIL import Image
from sqlalchemy import text

from api.cli.bench_scoring import normalise
from indexer.catalog import register_video
from indexer.jobs import JobStore, worker_name
from indexer.models import ModelRegistry
from indexer.pipeline import Pipeline
from indexer.stages.base import StageSkipped
from tests.conftest import Ingested, fresh_database
from tests.support import OPENCV_DATA, SAMPLE, VTEST, require
from vidkg.db import Database, open_database
from vidkg.settings import Settings


def _ingest(settings: Settings, registry: ModelRegistry, path: Path, stages: list[str]):
    db = open_database(settings)
    try:
        video_id = register_video(db.sessions, settings, path).video_id
        report = Pipeline(db, settings, registry).ingest(video_id, stages)
        with db.engine.connect() as conn:
            cuts = (
                conn.execute(text("SELECT start_s FROM scenes WHERE cut_before ORDER BY start_s"))
                .scalars()
                .all()
            )
            words = conn.execute(
                text(
                    "SELECT (w->>'start_s')::float AS t, w->>'text' AS word "
                    "FROM speech_segments, jsonb_array_elements(words) w ORDER BY 1"
                )
            ).all()
            frames = conn.execute(text("SELECT image_path FROM frames")).scalars().all()
        return report, cuts, words, frames
    finally:
        db.dispose()


def test_chunk_edges_lose_and_duplicate_nothing(
    vidkg_home: Path, template_db: str, registry: ModelRegistry
) -> None:
    """The sample cut into three chunks gives the same cuts as in one, and every word
    heard in one pass is heard once at the same time (the words themselves may differ a
    little: whisper hears a chunk's audio with less context, "night shift" vs "high-t
    shift")."""
    results = []
    for chunk_s in (300.0, 22.0):
        with fresh_database(vidkg_home, template_db) as settings:
            settings.indexer.chunk_s = chunk_s
            results.append(_ingest(settings, registry, SAMPLE, ["scenes", "asr"]))
    (one, cuts1, words1, _), (three, cuts3, words3, _) = results
    assert (one.chunks, three.chunks) == (1, 3)
    assert cuts3 == cuts1 and len(cuts1) == 8
    assert len(words1) >= 40
    for t, word in words1:  # nothing lost
        assert any(abs(t - t3) <= 0.4 for t3, _ in words3), (t, word, words3)
    for (t_a, a), (t_b, b) in zip(words3, words3[1:], strict=False):  # nothing twice
        assert not (a.lower() == b.lower() and t_b - t_a < 0.5), (t_a, a, t_b, b)


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


def _remux_rotated(src: Path, dst: Path, degrees: int) -> None:
    """Copy the video stream, adding a display rotation (ffmpeg 5.1 cannot set one)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        stream.set_display_rotation(degrees)
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)


def test_rotated_odd_sized_variable_rate_video(
    settings: Settings, registry: ModelRegistry, tmp_path: Path
) -> None:
    """3 s of vtest at 10 fps then 3 s of tree.avi at 25 fps (one file, variable frame
    rate), 321x241 pixels, tagged to display rotated by 90 degrees."""
    plain, video = tmp_path / "vfr.mp4", tmp_path / "vfr-rotated.mp4"
    graph = (
        "[0:v]trim=0:3,fps=10,scale=321:241,setpts=PTS-STARTPTS[a];"
        "[1:v]trim=0:3,fps=25,scale=321:241,setpts=PTS-STARTPTS[b];[a][b]concat=n=2[v]"
    )
    _ffmpeg(
        "-i", str(require(VTEST)), "-i", str(require(OPENCV_DATA / "tree.avi")),
        "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast",
        "-pix_fmt", "yuv444p", "-vsync", "passthrough", str(plain),
    )  # fmt: skip
    _remux_rotated(plain, video, 90)
    report, cuts, _, frames = _ingest(settings, registry, video, ["scenes"])
    assert report.status == "succeeded"
    assert cuts == [pytest.approx(3.0, abs=0.1)]
    sizes = {Image.open(f).size for f in frames}
    assert sizes and all(h > w for w, h in sizes), sizes  # upright: portrait after rotation


def test_two_local_processes_ingest_what_one_does(
    vidkg_home: Path, template_db: str, registry: ModelRegistry, sample: Ingested
) -> None:
    """VIDKG_INDEXER__PROCESSES=2 (no broker): the sample's units run in two spawned
    children, whose checkpoints name them, and the evidence is the single process's:
    the same cuts, the words spoken, every text shown."""
    truth = json.loads(SAMPLE.with_name("briefing.truth.json").read_text())
    with fresh_database(vidkg_home, template_db) as base:
        settings = base.model_copy(
            update={"indexer": base.indexer.model_copy(update={"processes": 2})}
        )
        # Speech and the picture: two units at once, each child loading only its models.
        report, cuts, words, _ = _ingest(settings, registry, SAMPLE, ["scenes", "asr", "ocr"])
        db = open_database(settings)
        try:
            with db.engine.connect() as conn:
                workers = set(
                    conn.execute(text("SELECT DISTINCT worker FROM ingest_checkpoints"))
                    .scalars()
                    .all()
                )
                texts = " ".join(
                    conn.execute(text("SELECT text FROM onscreen_text")).scalars().all()
                )
        finally:
            db.dispose()
    assert report.status == "succeeded", report.failures
    assert report.stages["asr"].chunks_done == 1 and report.stages["ocr"].rows > 0
    assert len(workers - {None}) >= 2 and worker_name() not in workers, workers
    one = sample.rows("SELECT start_s FROM scenes WHERE cut_before ORDER BY start_s")
    assert cuts == pytest.approx([r["start_s"] for r in one])
    said = normalise(" ".join(w.word for w in words))
    assert "north bridge" in said, said
    read = set(normalise(texts).split())
    for shown in truth["onscreen_text"]:
        assert set(normalise(shown["text"]).split()) <= read, (shown["text"], texts)


def test_local_processes_finish_a_job_a_killed_run_left_running(
    vidkg_home: Path, template_db: str, registry: ModelRegistry
) -> None:
    """A run killed with its units sent (pending) or running, heartbeat still fresh, is
    finished by the next in-process run on local processes: it is the job's only runner."""
    with fresh_database(vidkg_home, template_db) as base:
        settings = base.model_copy(
            update={"indexer": base.indexer.model_copy(update={"processes": 2})}
        )
        db = open_database(settings)
        try:
            video_id = register_video(db.sessions, settings, SAMPLE).video_id
            jobs = JobStore(db.sessions, settings.worker)
            job, _ = jobs.submit(video_id, ["scenes", "ocr"], settings.indexer.chunk_s)
            sent = jobs.claim(job.id, adopt_in_flight=True)  # the killed run sent these
            assert jobs.start(job.id, sent[0], "killed-host:1") is not None
            report = Pipeline(db, settings, registry).run_job(job.id)
            with db.engine.connect() as conn:
                done = conn.execute(
                    text("SELECT stage, status, worker FROM ingest_checkpoints ORDER BY stage")
                ).all()
        finally:
            db.dispose()
    assert report.status == "succeeded", report.failures
    assert {(s, st) for s, st, _ in done} >= {("scenes", "done"), ("ocr", "done")}
    assert all(w != "killed-host:1" for *_, w in done), done


def test_a_skipped_stage_keeps_nothing_of_the_chunks_that_asked_for_it(
    db: Database, settings: Settings, registry: ModelRegistry
) -> None:
    """Every chunk asks for CLIP, which is skipped here (no weights). Raising one stored
    exception again chained each asker's frames onto its traceback, so every chunk's
    decoded frames and records lived on: 29 MB a chunk on the 60-minute haystack."""
    pipeline = Pipeline(db, settings, registry)

    class Frames:  # stands for what a chunk holds while it asks
        pass

    def a_chunk() -> weakref.ref:
        frames = Frames()
        with pytest.raises(StageSkipped, match="VIDKG_INDEXER__CLIP__PRETRAINED"):
            pipeline.stage("clip")
        return weakref.ref(frames)

    asked = [a_chunk() for _ in range(3)]
    gc.collect()
    assert [ref() for ref in asked] == [None, None, None]
