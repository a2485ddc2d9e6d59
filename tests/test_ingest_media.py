"""Ingest of awkward media: truncated, audio-only, silent; optional stages (CLIP, a VLM).

Real files (Debian's vtest.avi and ALSA voices, cut or re-muxed by ffmpeg), the real
models and the real database; only the VLM is a fake, speaking the OpenAI protocol.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import torch
from sqlalchemy import text

from indexer.catalog import register_video
from indexer.models import ModelRegistry
from indexer.pipeline import Pipeline
from tests.support import VTEST, require
from vidkg.db import Database
from vidkg.settings import Settings
from vidkg.stage_settings import CaptionSettings, ClipSettings


def _ingest(db: Database, settings: Settings, registry: ModelRegistry, path: Path, stages):
    video_id = register_video(db.sessions, settings, path).video_id
    return video_id, Pipeline(db, settings, registry).ingest(video_id, stages)


def _rows(db: Database, sql: str) -> list[dict]:
    with db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql)).mappings()]


def test_truncated_file_ingests_its_readable_part_and_reports_the_rest(
    db: Database, settings: Settings, registry: ModelRegistry, media: Path
) -> None:
    """truncated.mp4 declares 20 s of vtest.avi; its data ends at about 10.7 s."""
    _, report = _ingest(db, settings, registry, media / "truncated.mp4", ["scenes", "detect"])
    video = _rows(db, "SELECT status, decodable_s, duration_s, error FROM videos")[0]
    assert video["status"] == "partial" and 9.0 < video["decodable_s"] < 12.0
    assert "truncated file: data ends at" in video["error"]
    failed = _rows(
        db, "SELECT stage, start_s, end_s, error FROM ingest_checkpoints WHERE status = 'failed'"
    )
    assert failed == [
        {
            "stage": "decode",
            "start_s": video["decodable_s"],
            "end_s": video["duration_s"],
            "error": video["error"],
        }
    ]
    scenes = _rows(db, "SELECT min(start_s) AS a, max(end_s) AS b FROM scenes")[0]
    assert scenes["a"] == 0.0 and scenes["b"] <= video["decodable_s"] + 0.1
    people = _rows(db, "SELECT count(*) AS n, max(t_s) AS last FROM detections")[0]
    assert people["n"] >= 5 and people["last"] < video["decodable_s"]
    assert report.status == "succeeded"


def test_audio_only_file_gets_speech_and_skips_the_picture(
    db: Database, settings: Settings, registry: ModelRegistry, media: Path
) -> None:
    _, report = _ingest(db, settings, registry, media / "voice.m4a", settings.indexer.stages)
    assert report.status == "succeeded", report.failures
    speech = _rows(db, "SELECT text, embedding IS NOT NULL AS embedded FROM speech_segments")
    assert "front center" in " ".join(s["text"].lower() for s in speech).replace(",", "")
    assert all(s["embedded"] for s in speech)
    skipped = _rows(db, "SELECT stage, error FROM ingest_checkpoints WHERE status = 'skipped'")
    assert {s["stage"] for s in skipped} >= {"scenes", "ocr", "detect", "clip"}
    assert all("audio-only" in s["error"] or "open_clip" in s["error"] for s in skipped)
    assert _rows(db, "SELECT status, has_video FROM videos") == [
        {"status": "ready", "has_video": False}
    ]
    # No scenes: the graph's events come from the speech itself.
    events = _rows(db, "SELECT description FROM events")
    assert len(events) == 1 and "front, center" in events[0]["description"].lower()


def test_video_without_audio_and_with_a_silent_track(
    db: Database, settings: Settings, registry: ModelRegistry, tmp_path: Path
) -> None:
    silent = tmp_path / "silent.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-i",
            str(require(VTEST)),
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=16000:cl=mono",
            "-t",
            "6",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-shortest",
            str(silent),
        ],
        check=True,
    )
    _ingest(db, settings, registry, silent, ["asr"])
    _ingest(db, settings, registry, VTEST, ["asr"])
    marks = _rows(
        db,
        "SELECT v.file_name, c.status, c.error, c.rows_written FROM "
        "ingest_checkpoints c JOIN videos v ON v.id = c.video_id "
        "WHERE c.stage = 'asr' ORDER BY 1",
    )
    assert marks == [
        {"file_name": "silent.mp4", "status": "done", "error": None, "rows_written": 0},
        {
            "file_name": "vtest.avi",
            "status": "skipped",
            "error": "no audio stream",
            "rows_written": None,
        },
    ]


TINY_CLIP = {
    "embed_dim": 512,
    "vision_cfg": {"image_size": 64, "layers": 1, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}


def test_clip_frame_embeddings_from_a_local_checkpoint(
    db: Database, settings: Settings, media: Path, tmp_path: Path
) -> None:
    """No CLIP weights exist offline: a randomly initialised small open_clip model, saved
    as a checkpoint, goes through the same path as real weights would."""
    import open_clip

    config = tmp_path / "tiny-clip.json"
    config.write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(str(config))
    checkpoint = tmp_path / "tiny-clip.pt"
    torch.save(open_clip.create_model("tiny-clip").state_dict(), checkpoint)
    clip = ClipSettings(model=str(config), pretrained=str(checkpoint))
    settings = settings.model_copy(
        update={"indexer": settings.indexer.model_copy(update={"clip": clip})}
    )
    registry = ModelRegistry(settings.indexer, tmp_path / "models")
    _, report = _ingest(db, settings, registry, media / "good.mp4", ["scenes", "clip"])
    assert report.stages["clip"].chunks_done == 1
    frames = _rows(
        db,
        "SELECT t_s, vector_dims(embedding) AS dims, embedding_model, "
        "keyframe_times FROM frames JOIN scenes USING (video_id) "
        "WHERE t_s = ANY(keyframe_times)",
    )
    assert frames and {f["dims"] for f in frames} == {512}
    assert {f["embedding_model"] for f in frames} == {"open_clip:tiny-clip:tiny-clip.pt"}
    nearest = _rows(
        db,
        "SELECT a.t_s, (SELECT b.t_s FROM frames b ORDER BY b.embedding <=> "
        "a.embedding LIMIT 1) AS nearest FROM frames a",
    )
    assert all(n["t_s"] == n["nearest"] for n in nearest)


class _FakeVLM(BaseHTTPRequestHandler):
    """An OpenAI-compatible /chat/completions endpoint that records what it was sent."""

    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        reply = {
            "choices": [
                {
                    "message": {
                        "role": "assistant",
                        "content": "A pedestrian street seen from above.",
                    }
                }
            ]
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_vlm() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _FakeVLM)
    _FakeVLM.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def test_vlm_captions_over_the_openai_protocol(
    db: Database, settings: Settings, registry: ModelRegistry, media: Path, fake_vlm: str
) -> None:
    caption = CaptionSettings(vlm_url=fake_vlm, vlm_model="tiny-vlm", vlm_api_key="k-123")
    settings = settings.model_copy(
        update={"indexer": settings.indexer.model_copy(update={"caption": caption})}
    )
    _ingest(db, settings, registry, media / "good.mp4", ["scenes", "detect", "caption"])
    captions = _rows(db, "SELECT text, captioner FROM captions")
    assert captions and {c["captioner"] for c in captions} == {"vlm:tiny-vlm"}
    assert captions[0]["text"] == "A pedestrian street seen from above."
    sent = _FakeVLM.requests[0]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer k-123"
    content = sent["body"]["messages"][0]["content"]
    assert content[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert "Seen:" in content[0]["text"] and "person" in content[0]["text"]
