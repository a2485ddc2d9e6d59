"""The OCR stage on real pictures: a made-up 12 s video of three shots (a photo with no
text, a title card, street footage with a caption shown for two seconds) and a real
street sign photo. Checks what is read, when, and how few frames it takes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import pytest

from indexer.media import VideoReader
from indexer.models import ModelRegistry
from indexer.stages.base import SampledFrame, Span, TextTrackRecord
from indexer.stages.ocr import TextStage, normalise
from tests.support import OPENCV_DATA, VTEST, require
from vidkg.settings import Settings

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
SIGN = Path("/usr/share/doc/opencv-doc/examples/text/scenetext01.jpg")
SHOTS = ((0.0, 4.0), (4.0, 8.0), (8.0, 12.0))  # fruit photo, title card, footage


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0-4 s fruits photo, 4-8 s card "LOADING DOCK 7", 8-12 s vtest footage with
    "CAMERA 2" burned in for t in [9, 11)."""
    out = tmp_path_factory.mktemp("ocr") / "shots.mp4"
    fmt = "scale=640:360,setsar=1,fps=25,format=yuv420p"
    text = f"fontfile={require(FONT)}:fontcolor=white"
    graph = (
        f"[0]{fmt}[a];"
        f"[1]drawtext={text}:fontsize=64:text='LOADING DOCK 7':x=(w-tw)/2:y=(h-th)/2,"
        f"{fmt}[b];"
        f"[2]{fmt}[c];"
        f"[a][b][c]concat=n=3:v=1:a=0,drawtext={text}:fontsize=36:text='CAMERA 2':"
        "box=1:boxcolor=black@0.7:boxborderw=8:x=40:y=h-80:enable='gte(t,9)*lt(t,11)'[v]"
    )
    cmd = ["ffmpeg", "-v", "error", "-y"]
    cmd += ["-loop", "1", "-t", "4", "-i", str(require(OPENCV_DATA / "fruits.jpg"))]
    cmd += ["-f", "lavfi", "-t", "4", "-i", "color=c=0x1a2a4a:s=640x360:r=25"]
    cmd += ["-t", "4", "-i", str(require(VTEST))]
    cmd += ["-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast"]
    subprocess.run([*cmd, str(out)], check=True, timeout=60)
    return out


def run_spans(stage: TextStage, video: Path) -> tuple[list[list[TextTrackRecord]], list[int]]:
    """Decode at 1 fps (each span starts on a sample) and call the stage as the pipeline
    does: start_chunk, process per span in order, finish_chunk. Returns each span's
    tracks and how many frames it read."""
    reader = VideoReader(video, 640)
    frames = [
        SampledFrame(f.t_s, f.image, f.thumb)
        for f in reader.frames(0.0, 12.0, want_image=lambda t: abs(t - round(t)) < 1e-3)
        if f.image is not None
    ]
    assert [round(f.t_s) for f in frames] == list(range(12))
    stage.start_chunk(0.0, 12.0)
    tracks, reads = [], []
    for i, (a, b) in enumerate(SHOTS):
        before = stage.reads
        span = Span(index=i, shot_index=i, start_s=a, end_s=b)
        tracks.append(stage.process(span, [f for f in frames if a <= f.t_s < b]))
        reads.append(stage.reads - before)
    assert stage.finish_chunk() == []
    return tracks, reads


def find(tracks: list[TextTrackRecord], text: str) -> TextTrackRecord:
    hits = [t for t in tracks if normalise(t.text) == normalise(text)]
    assert len(hits) == 1, [(t.text, t.start_s, t.end_s) for t in tracks]
    return hits[0]


def test_texts_timed_and_frames_read_sparingly(registry: ModelRegistry, video: Path) -> None:
    stage = TextStage(registry, Settings().indexer.ocr)
    tracks, reads = run_spans(stage, video)
    seen = [(t.text, t.start_s, t.end_s, t.frame_count) for span in tracks for t in span]
    print(f"reads per span {reads}, total {stage.reads} of 12 samples; tracks {seen}")

    assert tracks[0] == []  # the fruit photo has no text
    assert reads[0] == 1 and reads[1] == 1  # static shots are read once
    dock = find(tracks[1], "LOADING DOCK 7")
    assert abs(dock.start_s - 4.0) <= 1.0 and abs(dock.end_s - 8.0) <= 1.0
    assert dock.confidence >= 0.5 and 0.0 <= dock.box.x1 < dock.box.x2 <= 1.0
    camera = find(tracks[2], "CAMERA 2")
    assert abs(camera.start_s - 9.0) <= 1.0 and abs(camera.end_s - 11.0) <= 1.0
    assert camera.box.y1 > 0.6 and camera.box.x1 < 0.3  # bottom left, where it was drawn
    assert stage.reads <= 7


def test_street_sign_photo(registry: ModelRegistry) -> None:
    """A real photo of a parking sign (800x600, scaled down to the detector's size)."""
    image = cv2.cvtColor(cv2.imread(str(require(SIGN))), cv2.COLOR_BGR2RGB)
    thumb = cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), (80, 60))
    stage = TextStage(registry, Settings().indexer.ocr)
    stage.start_chunk(0.0, 5.0)
    tracks = stage.process(Span(0, 0, 0.0, 5.0), [SampledFrame(0.0, image, thumb)])
    read = " ".join(normalise(t.text) for t in tracks)
    assert "parking" in read and "double" in read and "prohibited" in read, read
    assert stage.reads == 1
    assert all(t.start_s == 0.0 and t.end_s == 5.0 for t in tracks)
