"""The detect stage on real media: people in OpenCV's pedestrian video are found and
tracked, photo slides without people give nothing, cuts end tracks, and any ultralytics
weights (with their own label map) load, while a wrong path fails naming the path."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import cv2
import pytest

from indexer.media import VideoReader
from indexer.models import ModelRegistry, ModelUnavailable
from indexer.stages.base import DetectionRecord, SampledFrame, Span, TrackRecord
from indexer.stages.detect import ObjectStage
from tests.support import OPENCV_DATA, VTEST, require
from vidkg.stage_settings import DetectSettings, IndexerSettings

WIDTH = 640
SAMPLE_FPS = 2.0  # what the pipeline hands a stage: ~1-2 fps plus each span's first frame


@pytest.fixture(scope="module")
def stage(registry: ModelRegistry) -> ObjectStage:
    return ObjectStage(registry, DetectSettings())


@pytest.fixture(scope="module")
def vtest_frames() -> list[SampledFrame]:
    """vtest.avi 0-20 s (pedestrians in a plaza, one shot) sampled at 2 fps."""

    def wanted(t: float) -> bool:
        return abs(t * SAMPLE_FPS - round(t * SAMPLE_FPS)) < 1e-3

    reader = VideoReader(require(VTEST), WIDTH)
    frames = [
        SampledFrame(f.t_s, f.image, f.thumb)
        for f in reader.frames(0.0, 20.0, wanted)
        if f.image is not None
    ]
    assert len(frames) == 40 and frames[0].image.shape == (480, 640, 3)
    return frames


def test_the_detector_shares_the_cores(
    stage: ObjectStage, registry: ModelRegistry, vtest_frames: list[SampledFrame]
) -> None:
    """ultralytics opens its onnxruntime session with a thread per core that spins between
    frames, taking the decoder's core (and, with two workers, the other worker's); ours
    has the registry's thread count and idle threads that sleep (``indexer.onnx_cpu``),
    and keeps them through the stage's own predictions."""
    run_all(stage, [Span(0, 0, 0.0, 2.0)], vtest_frames[:4])
    options = stage.model.predictor.model.backend.session.get_session_options()
    assert options.intra_op_num_threads == registry.threads
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def run_all(
    stage: ObjectStage, spans: Sequence[Span], frames: Sequence[SampledFrame]
) -> tuple[list[TrackRecord], list[DetectionRecord]]:
    """Drive the stage as the pipeline does (one chunk, spans in time order); its tracks,
    and the sightings it kept without a track."""
    stage.start_chunk(spans[0].start_s, spans[-1].end_s)
    out = []
    for span in spans:
        out += stage.process(span, [f for f in frames if span.start_s <= f.t_s < span.end_s])
    out += stage.finish_chunk()
    tracks = [r for r in out if isinstance(r, TrackRecord)]
    keys = [t.track_key for t in tracks]
    assert sorted(keys) == list(range(1, len(keys) + 1)), "keys are 1..N within a chunk"
    return tracks, [r for r in out if isinstance(r, DetectionRecord)]


def run(
    stage: ObjectStage, spans: Sequence[Span], frames: Sequence[SampledFrame]
) -> list[TrackRecord]:
    return run_all(stage, spans, frames)[0]


def crosses(track: TrackRecord, t: float) -> bool:
    return track.start_s < t <= track.end_s


@pytest.fixture(scope="module")
def vtest_tracks(stage: ObjectStage, vtest_frames: list[SampledFrame]) -> list[TrackRecord]:
    """Two spans of the same shot, so tracks must carry over from one span to the next."""
    return run(stage, [Span(0, 0, 0.0, 10.0), Span(1, 0, 10.0, 20.0)], vtest_frames)


def test_people_found_and_tracked_in_vtest(vtest_tracks: list[TrackRecord]) -> None:
    assert {t.label for t in vtest_tracks} == {"person"}
    assert {t.model for t in vtest_tracks} == {"best.pt"}
    tracked = [t for t in vtest_tracks if len(t.detections) >= 3]
    assert len(tracked) >= 2, "people are followed over several frames"
    assert any(t.end_s - t.start_s >= 4.0 for t in tracked)
    # The detector sees one frame every 2 s (DetectSettings.fps), on a grid of the timeline.
    times = {d.t_s for t in vtest_tracks for d in t.detections}
    assert times <= {float(s) for s in range(0, 20, 2)} and len(times) >= 8
    for t in vtest_tracks:
        ds = t.detections
        assert [d.t_s for d in ds] == sorted({d.t_s for d in ds}), "one box per frame, in order"
        assert (t.start_s, t.end_s) == (ds[0].t_s, ds[-1].t_s)
        assert t.max_confidence == max(d.confidence for d in ds) >= 0.3
        for d in ds:
            b = d.box
            assert 0.0 <= b.x1 < b.x2 <= 1.0 and 0.0 <= b.y1 < b.y2 <= 1.0
            assert (b.x2 - b.x1) * (b.y2 - b.y1) < 0.2, "pedestrians are small in this view"


def test_tracks_continue_across_spans_of_one_shot(vtest_tracks: list[TrackRecord]) -> None:
    assert any(crosses(t, 10.0) for t in vtest_tracks)


def test_cut_resets_tracking(stage: ObjectStage, vtest_frames: list[SampledFrame]) -> None:
    """The same frames as above, but with a cut at 10 s: no track may cross it."""
    tracks = run(stage, [Span(0, 0, 0.0, 10.0), Span(1, 1, 10.0, 20.0)], vtest_frames)
    assert len(tracks) >= 3
    assert not any(crosses(t, 10.0) for t in tracks)
    assert any(t.start_s >= 10.0 for t in tracks) and any(t.end_s < 10.0 for t in tracks)


def slide_frames(
    name: str, start_s: float, seconds: float = 3.0, zoom: float = 0.0
) -> list[SampledFrame]:
    """A still photo shown for ``seconds``, sampled like a video at 2 fps; ``zoom`` crops
    that fraction more of each side per second (a slow Ken Burns zoom, as in the haystack)."""
    bgr = cv2.imread(str(require(OPENCV_DATA / name)))
    h, w = bgr.shape[:2]
    frames = []
    for i in range(int(seconds * SAMPLE_FPS)):
        cut = zoom * i / SAMPLE_FPS
        crop = bgr[round(h * cut) : round(h * (1 - cut)), round(w * cut) : round(w * (1 - cut))]
        size = (WIDTH, round(h * WIDTH / w))
        rgb = cv2.cvtColor(cv2.resize(crop, size), cv2.COLOR_BGR2RGB)
        thumb = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (80, round(h * 80 / w)))
        frames.append(SampledFrame(start_s + i / SAMPLE_FPS, rgb, thumb))
    return frames


def test_no_people_in_slides_without_people(stage: ObjectStage) -> None:
    names = ["building.jpg", "home.jpg", "stuff.jpg"]
    spans = [Span(i, i, 3.0 * i, 3.0 * (i + 1)) for i in range(len(names))]
    frames = [f for i, n in enumerate(names) for f in slide_frames(n, 3.0 * i)]
    assert run(stage, spans, frames) == []


def test_shape_test_removes_most_false_people_in_fruit_closeups(stage: ObjectStage) -> None:
    """The default weights call close-up fruit a standing person (0.6-0.8), mostly with
    boxes of the wrong shape for one, which ``aspect_limits`` drops (one box cut off by
    the frame's edge has a person's shape and stays: a limit of these weights)."""
    names = ["fruits.jpg", "apple.jpg"]
    spans = [Span(i, i, 6.0 * i, 6.0 * (i + 1)) for i in range(len(names))]
    frames = [f for i, n in enumerate(names) for f in slide_frames(n, 6.0 * i, 6.0, 0.02)]

    def sightings(s: ObjectStage) -> int:
        tracks, untracked = run_all(s, spans, frames)
        return len(untracked) + sum(len(t.detections) for t in tracks)

    before = sightings(ObjectStage(stage.registry, DetectSettings(aspect_limits={})))
    after = sightings(stage)
    print(f"false people in fruit close-ups: {before} without the shape test, {after} with")
    assert before >= len(names) and after <= before // 2


def test_any_weights_with_their_label_map(
    registry: ModelRegistry, vtest_frames: list[SampledFrame], tmp_path: Path
) -> None:
    weights = tmp_path / "walkers-v2.pt"
    shutil.copy(registry.detector_weights(), weights)
    settings = DetectSettings(weights=str(weights), label_map={"Normal": "walker"})
    other = ModelRegistry(IndexerSettings(detect=settings), tmp_path / "cache")
    tracks = run(ObjectStage(other, settings), [Span(0, 0, 4.0, 8.0)], vtest_frames)
    assert tracks and {t.model for t in tracks} == {"walkers-v2.pt"}
    # Mapped names are renamed; a class left out of the map keeps the model's own name.
    labels = {t.label for t in tracks}
    assert "walker" in labels and labels <= {"walker", "Fall"}


def test_wrong_weights_path_names_the_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-weights.pt")
    settings = DetectSettings(weights=missing)
    registry = ModelRegistry(IndexerSettings(detect=settings), tmp_path / "cache")
    with pytest.raises(ModelUnavailable, match="no-such-weights.pt"):
        ObjectStage(registry, settings)


def test_onnx_runtime_detects_what_torch_detects(
    stage: ObjectStage, vtest_frames: list[SampledFrame], tmp_path: Path
) -> None:
    """The default CPU detector is the weights exported to ONNX; torch finds the same
    people in the same places, with the same confidence."""
    assert str(stage.model.ckpt_path).endswith(".onnx")
    settings = DetectSettings(runtime="torch")
    torch_registry = ModelRegistry(IndexerSettings(detect=settings), tmp_path / "cache")
    torch_stage = ObjectStage(torch_registry, settings)
    assert str(torch_stage.model.ckpt_path).endswith(".pt")

    def boxes(s: ObjectStage) -> list[tuple[float, ...]]:
        tracks, loose = run_all(s, [Span(0, 0, 0.0, 10.0)], vtest_frames)
        found = [d for t in tracks for d in t.detections] + loose
        return sorted((d.t_s, d.box.x1, d.box.y1, d.box.x2, d.box.y2, d.confidence) for d in found)

    ours, theirs = boxes(stage), boxes(torch_stage)
    assert len(ours) == len(theirs) >= 10
    assert [b[0] for b in ours] == [b[0] for b in theirs]
    assert all(
        abs(x - y) <= 0.01
        for a, b in zip(ours, theirs, strict=True)
        for x, y in zip(a, b, strict=True)
    )
