"""The media routes over real files: byte ranges of the source, clips transcoded from an
AVI no browser plays (checked by decoding them), frame images, the clip cache, and the
errors (404 unknown, 410 file gone, 422 bad spans, 401/403 without the read scope).

One app over one database for the module: vtest.avi (MPEG-4 part 2 in AVI), good.mp4
(H.264, its scenes ingested so keyframes exist), briefing.mp4 (H.264 and AAC) and a
registered file since deleted.
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text

from api.app import create_app
from api.media import ENCODERS, FileCache, find_source, transcode
from indexer.catalog import register_video
from indexer.models import ModelRegistry
from indexer.pipeline import Pipeline
from tests.api_support import key, with_api
from tests.conftest import fresh_database
from tests.support import SAMPLE, VTEST, require
from vidkg.db import Database, open_database
from vidkg.settings import Settings

PROBLEM = "application/problem+json"
CLIP_MAX_S = 10.0


@dataclass
class MediaApi:
    client: TestClient
    db: Database
    settings: Settings
    ids: dict[str, int]
    paths: dict[str, Path]

    def url(self, name: str, route: str) -> str:
        return f"/v1/videos/{self.ids[name]}/{route}"


@pytest.fixture(scope="module")
def api(
    vidkg_home: Path,
    template_db: str,
    registry: ModelRegistry,
    media: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[MediaApi]:
    gone = tmp_path_factory.mktemp("gone") / "deleted.mp4"
    shutil.copy(media / "moov_at_end.mp4", gone)
    paths = {"vtest": require(VTEST), "good": media / "good.mp4", "sample": SAMPLE, "gone": gone}
    with fresh_database(vidkg_home, template_db) as base:
        settings = with_api(base, open=True, clip_max_s=CLIP_MAX_S, rate_limit_per_minute=0)
        db = open_database(settings)
        ids = {n: register_video(db.sessions, settings, p).video_id for n, p in paths.items()}
        gone.unlink()
        report = Pipeline(db, settings, registry).ingest(ids["good"], ["scenes"])
        assert report.status == "succeeded", report.failures
        with TestClient(create_app(settings, registry)) as client:
            yield MediaApi(client, db, settings, ids, paths)
        db.dispose()


def _problem(response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    detail = response.json()["detail"]
    assert all(w in detail for w in words), detail


def _gray(frame: av.VideoFrame, size: tuple[int, int] | None = None) -> np.ndarray:
    if size is not None:
        frame = frame.reformat(width=size[0], height=size[1])
    return frame.to_ndarray(format="gray").astype(np.float32)


def _source_frame(path: Path, t: float) -> av.VideoFrame:
    """The first frame at or after ``t``, decoded from the start (no seek to trust)."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time >= t - 1e-6:
                return frame
    raise AssertionError(f"no frame at {t}")


def test_source_file_is_served_with_byte_ranges(api: MediaApi) -> None:
    data = api.paths["vtest"].read_bytes()
    n = len(data)
    url = api.url("vtest", "file")
    full = api.client.get(url)
    assert full.status_code == 200 and full.content == data
    assert full.headers["content-type"] == "video/x-msvideo"
    assert full.headers["accept-ranges"] == "bytes"
    assert full.headers["content-disposition"].startswith("inline")
    ranges = {
        "bytes=0-99": (0, 100),
        "bytes=100000-": (100000, n),
        "bytes=-500": (n - 500, n),
        f"bytes={n - 10}-{n + 100}": (n - 10, n),
    }
    for header, (a, b) in ranges.items():
        part = api.client.get(url, headers={"Range": header})
        assert part.status_code == 206, header
        assert part.content == data[a:b], header
        assert part.headers["content-range"] == f"bytes {a}-{b - 1}/{n}"
    past = api.client.get(url, headers={"Range": f"bytes={n}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{n}"
    mp4 = api.client.get(api.url("good", "file"), headers={"Range": "bytes=0-15"})
    assert mp4.status_code == 206 and mp4.headers["content-type"] == "video/mp4"
    assert mp4.content == api.paths["good"].read_bytes()[:16]


def test_clip_of_an_avi_is_h264_mp4_of_the_span_and_cached(api: MediaApi) -> None:
    start, end = 2.0, 4.5
    url = f"{api.url('vtest', 'clip')}?start_s={start}&end_s={end}"
    response = api.client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "video/mp4"
    body = response.content
    assert 0 < body.find(b"moov") < body.find(b"mdat")  # index first: plays while loading
    with av.open(io.BytesIO(body)) as clip:
        assert "mp4" in clip.format.name and not clip.streams.audio
        assert clip.streams.video[0].codec_context.name == "h264"
        frames = list(clip.decode(video=0))
    fps = 10  # vtest.avi
    assert abs(len(frames) / fps - (end - start)) <= 2 / fps
    assert frames[0].time == pytest.approx(0.0, abs=1e-6)
    first = _gray(frames[0])
    at_start = np.abs(first - _gray(_source_frame(api.paths["vtest"], start))).mean()
    later = np.abs(first - _gray(_source_frame(api.paths["vtest"], start + 2.0))).mean()
    assert at_start < 3.0 and at_start < later / 2, (at_start, later)

    cached = list((api.settings.home / "clips").glob("*.mp4"))
    before = [p.stat() for p in cached]
    again = api.client.get(url)
    assert again.content == body
    after = [p.stat() for p in cached]
    assert [(s.st_ino, s.st_mtime_ns) for s in after] == [(s.st_ino, s.st_mtime_ns) for s in before]
    part = api.client.get(url, headers={"Range": "bytes=0-1023"})
    assert part.status_code == 206 and part.content == body[:1024]


def test_clip_keeps_the_sound_and_ends_at_the_video_end(api: MediaApi) -> None:
    sound = api.client.get(f"{api.url('sample', 'clip')}?start_s=10&end_s=12.5")
    assert sound.status_code == 200, sound.text
    with av.open(io.BytesIO(sound.content)) as clip:
        assert clip.streams.video[0].codec_context.name == "h264"
        audio = clip.streams.audio[0]
        assert audio.codec_context.name == "aac"
        samples = sum(f.samples for f in clip.decode(audio=0))
    assert samples / audio.codec_context.sample_rate == pytest.approx(2.5, abs=0.05)

    tail = api.client.get(f"{api.url('vtest', 'clip')}?start_s=78&end_s=500")
    assert tail.status_code == 200, tail.text
    with av.open(io.BytesIO(tail.content)) as clip:
        assert len(list(clip.decode(video=0))) == pytest.approx(15, abs=2)  # 78 to 79.5 s


def test_the_webm_fallback_recipe_plays(api: MediaApi, tmp_path: Path) -> None:
    """Builds of PyAV without libx264 get VP9 and Opus in WebM."""
    vp9 = ENCODERS[-1]
    src = find_source(api.db.sessions, api.ids["sample"])
    assert vp9.video == "libvpx-vp9" and src is not None
    transcode(src, 10.0, 11.5, vp9, tmp_path / "clip.webm")
    with av.open(str(tmp_path / "clip.webm")) as clip:
        assert "webm" in clip.format.name
        assert [s.codec_context.name for s in clip.streams] == ["vp9", "opus"]
        frames = list(clip.decode(video=0))
    assert len(frames) == pytest.approx(1.5 * 25, abs=2)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("start_s=0&end_s=10.5", ["at most 10 s"]),
        ("start_s=-1&end_s=2", ["start_s"]),
        ("start_s=5&end_s=5", ["greater than start_s"]),
        ("start_s=5&end_s=3", ["greater than start_s"]),
        ("start_s=80&end_s=81", ["past the video's end"]),
        ("start_s=nan&end_s=2", ["finite"]),
        ("start_s=1", ["end_s"]),
        ("start_s=one&end_s=2", ["start_s"]),
    ],
)
def test_bad_clip_spans_are_422(api: MediaApi, query: str, words: list[str]) -> None:
    _problem(api.client.get(f"{api.url('vtest', 'clip')}?{query}"), 422, *words)


def test_frame_is_the_scene_keyframe_or_the_decoded_frame(api: MediaApi) -> None:
    kept = api.client.get(f"{api.url('good', 'frame')}?t=5")
    assert kept.status_code == 200 and kept.headers["content-type"] == "image/jpeg"
    assert kept.headers["x-frame-source"] == "keyframe"
    with api.db.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT t_s FROM frames WHERE video_id = :v AND image_path IS NOT NULL"),
            {"v": api.ids["good"]},
        ).scalars()
        assert float(kept.headers["x-frame-time"]) in {round(t, 3) for t in stored}
    assert Image.open(io.BytesIO(kept.content)).size == (640, 480)  # indexer.frame_width

    exact = api.client.get(f"{api.url('good', 'frame')}?t=5&exact=true")
    assert exact.headers["x-frame-source"] == "decoded"
    assert exact.headers["x-frame-time"] == "5.000"
    image = Image.open(io.BytesIO(exact.content))
    assert image.format == "JPEG" and image.size == (640, 480)
    source = _gray(_source_frame(api.paths["good"], 5.0), image.size)
    assert np.abs(np.asarray(image.convert("L"), np.float32) - source).mean() < 4.0

    plain = api.client.get(f"{api.url('vtest', 'frame')}?t=3")  # never ingested
    assert plain.headers["x-frame-source"] == "decoded"
    assert Image.open(io.BytesIO(plain.content)).size == (640, 480)
    assert api.client.get(f"{api.url('vtest', 'frame')}?t=3").content == plain.content
    _problem(api.client.get(f"{api.url('vtest', 'frame')}?t=1000"), 422, "between 0")
    _problem(api.client.get(f"{api.url('vtest', 'frame')}?t=-1"), 422, "between 0")


@pytest.mark.parametrize("route", ["file", "clip?start_s=0&end_s=1", "frame?t=0"])
def test_unknown_video_is_404_and_a_deleted_file_410(api: MediaApi, route: str) -> None:
    _problem(api.client.get(f"/v1/videos/987654/{route}"), 404, "no video 987654")
    _problem(api.client.get(f"/v1/videos/0/{route}"), 404, "no video 0")
    _problem(api.client.get(api.url("gone", route)), 410, "missing on the server")


def test_media_needs_the_read_scope(api: MediaApi, registry: ModelRegistry) -> None:
    closed = with_api(api.settings, open=False)
    with TestClient(create_app(closed, registry)) as client:
        url = api.url("good", "file")
        _problem(client.get(url), 401, "API key")
        _problem(client.get(url, headers=key(api.db, "ingest")), 403, "read")
        assert client.get(url, headers=key(api.db, "read")).status_code == 200


def test_cache_evicts_the_least_recently_served(tmp_path: Path) -> None:
    cache = FileCache(tmp_path, max_bytes=2500)
    for name in ("a", "b"):
        cache.get(name, lambda out: out.write_bytes(bytes(1000)))
    now = time.time()
    for name, age in (("a", 600), ("b", 300)):
        mtime = (tmp_path / name).stat().st_mtime
        os.utime(tmp_path / name, (now - age, mtime))
    cache.get("a", lambda out: pytest.fail("a is cached"))  # served: now the most recent
    cache.get("c", lambda out: out.write_bytes(bytes(1000)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "c"]


def test_cache_makes_a_file_once_under_concurrent_requests(tmp_path: Path) -> None:
    cache = FileCache(tmp_path, max_bytes=10**6)
    calls: list[int] = []

    def make(out: Path) -> None:
        calls.append(1)
        with out.open("wb") as f:
            for _ in range(50):  # slow, in pieces: a reader must never see a part
                f.write(b"x" * 100)
                time.sleep(0.002)

    got: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: got.append(cache.get("clip", make).read_bytes()))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and got == [b"x" * 5000] * 8
    assert [p.name for p in tmp_path.iterdir()] == ["clip"]  # no temp file left

    with pytest.raises(RuntimeError):
        cache.get("broken", lambda out: (out.write_bytes(b"half"), _raise()))
    assert [p.name for p in tmp_path.iterdir()] == ["clip"]


def _raise() -> None:
    raise RuntimeError("encoder failed")
