"""The prober on real media: exact metadata for good files, a clear reason for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.probe import ProbeError, RejectReason, probe_video
from tests.support import MEGAMIND, VTEST, require
from vidkg.settings import ProbeSettings

LIMITS = ProbeSettings()


def test_vtest_metadata() -> None:
    probe = probe_video(require(VTEST), LIMITS)
    assert probe.container == "avi"
    assert probe.video_codec == "msmpeg4"
    assert (probe.width, probe.height) == (768, 576)
    assert probe.fps == pytest.approx(10.0)
    assert probe.frame_count == 795
    assert probe.duration_s == pytest.approx(79.5, abs=0.05)
    assert probe.has_audio is False


def test_megamind_has_its_dialogue_track() -> None:
    probe = probe_video(require(MEGAMIND), LIMITS)
    assert (probe.width, probe.height) == (720, 528)
    assert probe.has_audio and probe.audio_codec == "ac3"
    assert probe.duration_s == pytest.approx(11.26, abs=0.1)
    assert probe.fps == pytest.approx(23.976, abs=0.01)


def test_reencoded_mp4_with_single_long_gop_is_not_called_truncated(media: Path) -> None:
    # x264's default GOP (250 frames) at vtest's 10 fps is 25 s: longer than the file.
    for name in ("good.mp4", "moov_at_end.mp4"):
        probe = probe_video(media / name, LIMITS)
        assert probe.duration_s == pytest.approx(20.0, abs=0.05)
        assert probe.video_codec == "h264"


def test_raw_elementary_stream_is_measured_by_reading_it(media: Path) -> None:
    probe = probe_video(media / "raw.h264", LIMITS)
    assert probe.container == "h264"
    assert probe.frame_count == 50  # 5 s of vtest at 10 fps
    # Raw H.264 carries no frame rate for the demuxer, which assumes 25 fps.
    assert probe.duration_s == pytest.approx(probe.frame_count / probe.fps)


@pytest.mark.parametrize(
    ("name", "reason", "words"),
    [
        ("missing.mp4", RejectReason.MISSING, "no such file"),
        ("empty.mp4", RejectReason.EMPTY, "empty"),
        ("notes.txt", RejectReason.NOT_A_VIDEO, "not a video"),
        ("photo.jpg", RejectReason.STILL_IMAGE, "still image"),
        ("truncated_moov_missing.mp4", RejectReason.TRUNCATED, "moov atom"),
        ("undecodable.mp4", RejectReason.NO_DECODABLE_FRAMES, "no decodable frames"),
    ],
)
def test_bad_input_is_rejected_with_its_reason(
    media: Path, name: str, reason: RejectReason, words: str
) -> None:
    with pytest.raises(ProbeError) as err:
        probe_video(media / name, LIMITS)
    assert err.value.reason is reason
    assert words in str(err.value)
    assert str(media / name) in str(err.value)


@pytest.mark.parametrize(
    ("name", "declared", "ends"),
    [("truncated.avi", 79.5, (35.0, 45.0)), ("truncated.mp4", 20.0, (9.0, 12.0))],
)
def test_truncated_file_reports_where_its_data_ends(
    media: Path, name: str, declared: float, ends: tuple[float, float]
) -> None:
    """A truncated file is accepted: its readable part is indexed and the rest reported.
    (The AVI was cut at half of 79.5 s, the MP4 at about half of 20 s.)"""
    probe = probe_video(media / name, LIMITS)
    assert probe.duration_s == pytest.approx(declared, abs=0.1)
    assert probe.decodable_s is not None and ends[0] < probe.decodable_s < ends[1]


def test_whole_file_has_no_decodable_limit() -> None:
    assert probe_video(require(VTEST), LIMITS).decodable_s is None


@pytest.mark.parametrize("name", ["voice.wav", "voice.m4a"])
def test_audio_only_file_is_accepted_for_speech(media: Path, name: str) -> None:
    probe = probe_video(media / name, LIMITS)
    assert probe.has_video is False and probe.has_audio is True
    assert probe.width is None and probe.video_codec is None
    assert probe.duration_s > 0.5


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ProbeError) as err:
        probe_video(tmp_path, LIMITS)
    assert err.value.reason is RejectReason.NOT_A_FILE


def test_huge_frames_are_rejected_before_decoding() -> None:
    limits = ProbeSettings(max_frame_pixels=640 * 480)
    with pytest.raises(ProbeError) as err:
        probe_video(require(VTEST), limits)
    assert err.value.reason is RejectReason.FRAME_TOO_LARGE
    assert "768x576" in str(err.value)
