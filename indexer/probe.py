"""Probe a file before anything is stored: is it a video vidkg can index, and what is in it?

Every rejection is a :class:`ProbeError` with a machine-readable reason and a sentence a
person can act on. The probe reads headers, decodes the first frame and checks that
frames still decode near the declared end (a truncated upload is indexed up to where its
data ends, and the rest is reported) — a handful of seeks, so it costs the same for a
minute or an hour of video. Audio-only files are accepted for speech.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import av
import av.error

from indexer.media import open_media
from indexer.probe_streams import (
    data_reaches,
    declared_duration,
    demuxed_duration,
    describe_stream,
    first_frame_time,
    frame_rate,
    has_packets,
    is_cover_art,
)
from vidkg.settings import ProbeSettings

# Demuxers that read single images; ffmpeg opens a JPEG as a one-frame "video".
_IMAGE_FORMATS = {"image2", "image2pipe", "png", "apng", "webp", "tiff", "bmp"}
# ffmpeg demuxers that render text files as "video" (ANSI art); never a real video.
_TEXT_FORMATS = {"tty"}
# Demuxers whose input is a list of other files or a stream description: a live HLS
# playlist is read forever, an ffconcat list can include itself, and any of them makes
# ffmpeg open paths the user never registered. Never a video file.
_REFERENCE_FORMATS = {"hls", "concat", "dash", "sdp", "rtp", "rtsp", "webm_dash_manifest"}
# ffmpeg's own cap on streams (AVFormatContext.max_streams): a file that reaches it
# declares more, and the streams past it (the video among them, maybe) are dropped.
_MAX_STREAMS = 1000
# Slower than one frame an hour is no video but an absurd header (an AVI whose rate
# says 1e-5 fps spreads 160 frames over half a year), and it would plan a chunk per
# few seconds of that timeline.
_MIN_FPS = 1 / 3600
# A truncated file with less readable data than this is rejected rather than indexed.
_MIN_DECODABLE_S = 1.0


class RejectReason(StrEnum):
    MISSING = "missing"
    NOT_A_FILE = "not_a_file"
    UNREADABLE = "unreadable"
    EMPTY = "empty"
    NOT_A_VIDEO = "not_a_video"
    STILL_IMAGE = "still_image"
    AUDIO_ONLY = "audio_only"
    TRUNCATED = "truncated"
    NO_DECODABLE_FRAMES = "no_decodable_frames"
    FRAME_TOO_LARGE = "frame_too_large"
    TOO_SHORT = "too_short"
    TOO_MANY_STREAMS = "too_many_streams"
    BAD_FRAME_RATE = "bad_frame_rate"
    BAD_PATH = "bad_path"


class ProbeError(Exception):
    """A file that cannot be indexed, and why."""

    def __init__(self, path: Path, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class VideoProbe:
    """What the probe learned; stored on the video row."""

    path: Path
    size_bytes: int
    container: str
    duration_s: float
    width: int | None  # None: audio-only
    height: int | None
    video_codec: str | None
    fps: float | None
    frame_count: int | None
    rotation: int
    has_audio: bool
    has_video: bool = True
    decodable_s: float | None = None  # truncated: where the readable data ends
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None
    first_frame_s: float = 0.0
    streams: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def probe_video(path: Path, limits: ProbeSettings) -> VideoProbe:
    """Probe ``path`` or raise :class:`ProbeError`."""
    path = Path(path)
    size = _check_file(path)
    try:
        container = open_media(path)
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise _unopenable(path, exc) from None
    with container:
        return _probe_container(path, size, container, limits)


def _check_file(path: Path) -> int:
    if not path.exists():
        raise ProbeError(path, RejectReason.MISSING, "no such file")
    if not path.is_file():
        raise ProbeError(path, RejectReason.NOT_A_FILE, "not a regular file")
    if not os.access(path, os.R_OK):
        raise ProbeError(path, RejectReason.UNREADABLE, "permission denied: cannot read the file")
    size = path.stat().st_size
    _check_path_text(path)
    if size == 0:
        raise ProbeError(path, RejectReason.EMPTY, "the file is empty (0 bytes)")
    return size


def _check_path_text(path: Path) -> None:
    """The path is stored as text (PostgreSQL, UTF-8); a name in another encoding (bytes
    that decode to surrogates) would fail there, after the probe, with a traceback."""
    try:
        str(path.resolve()).encode("utf-8")
    except UnicodeEncodeError:
        raise ProbeError(
            path,
            RejectReason.BAD_PATH,
            "the file's name or folder is not valid UTF-8 text, so it cannot be stored: rename it",
        ) from None


def _unopenable(path: Path, exc: Exception) -> ProbeError:
    with path.open("rb") as fh:
        head = fh.read(12)
    if head[4:8] == b"ftyp":
        return ProbeError(
            path,
            RejectReason.TRUNCATED,
            "truncated or damaged MP4/MOV: its index (moov atom) is missing, "
            "so no frame can be located",
        )
    why = getattr(exc, "strerror", None) or str(exc)
    return ProbeError(
        path, RejectReason.NOT_A_VIDEO, f"not a video file (ffmpeg cannot read it: {why})"
    )


def _probe_container(
    path: Path, size: int, container: av.container.InputContainer, limits: ProbeSettings
) -> VideoProbe:
    fmt = container.format.name
    videos = [s for s in container.streams.video if not is_cover_art(s)]
    audios = list(container.streams.audio)
    if fmt in _TEXT_FORMATS:
        raise ProbeError(path, RejectReason.NOT_A_VIDEO, "not a video file (it is text)")
    _check_not_a_reference(path, fmt)
    if len(container.streams) >= _MAX_STREAMS:
        raise ProbeError(
            path,
            RejectReason.TOO_MANY_STREAMS,
            f"{_MAX_STREAMS} streams or more: ffmpeg reads no more than {_MAX_STREAMS}, "
            "so the file cannot be read whole",
        )
    if fmt.split(",")[0] in _IMAGE_FORMATS or fmt.endswith("_pipe"):
        raise ProbeError(path, RejectReason.STILL_IMAGE, f"a still image ({fmt}), not a video")
    if not videos:
        if audios:
            return _probe_audio_only(path, size, container, audios[0])
        raise ProbeError(path, RejectReason.NOT_A_VIDEO, "no video stream in the file")

    stream = videos[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > limits.max_frame_pixels:
        raise ProbeError(
            path,
            RejectReason.FRAME_TOO_LARGE,
            f"frames of {width}x{height} exceed the limit of {limits.max_frame_pixels} pixels "
            "(VIDKG_PROBE__MAX_FRAME_PIXELS)",
        )
    first = first_frame_time(container, stream)
    if first is None:
        if audios and not has_packets(path, stream.index):
            # A video stream declared with no picture at all: the sound is what it holds.
            return _probe_audio_only(path, size, container, audios[0])
        raise _undecodable(path, stream)
    first_t, rotation, width, height = first
    duration = declared_duration(container, stream)
    decodable = None
    if duration is None:
        # Every packet was read to measure it, so none can be missing: no truncation check.
        duration = demuxed_duration(path, stream.index)
    else:
        decodable = _decodable_until(path, container, stream, first_t, duration, limits)
    if duration <= 0:
        raise ProbeError(
            path, RejectReason.STILL_IMAGE, "a single frame with no duration, not a video"
        )
    _long_enough(path, duration)

    fps = frame_rate(stream)
    _check_frame_rate(path, fps, duration)
    frames = stream.frames or (round(duration * fps) if fps else None)
    audio = audios[0] if audios else None
    return VideoProbe(
        path=path.resolve(),
        size_bytes=size,
        container=fmt,
        duration_s=duration,
        width=width,
        height=height,
        video_codec=stream.codec_context.name,
        fps=fps,
        frame_count=frames,
        rotation=rotation,
        has_audio=audio is not None,
        decodable_s=decodable,
        audio_codec=audio.codec_context.name if audio else None,
        audio_sample_rate=audio.codec_context.sample_rate if audio else None,
        audio_channels=audio.codec_context.channels if audio else None,
        first_frame_s=first_t,
        streams=[describe_stream(s) for s in container.streams],
    )


def _probe_audio_only(
    path: Path, size: int, container: av.container.InputContainer, audio: Any
) -> VideoProbe:
    """An audio-only file is indexed for speech; the visual stages skip it."""
    duration = declared_duration(container, audio) or demuxed_duration(path, audio.index)
    if duration <= 0:
        raise ProbeError(path, RejectReason.AUDIO_ONLY, "audio-only file with no duration")
    _long_enough(path, duration)
    ctx = audio.codec_context
    return VideoProbe(
        path=path.resolve(),
        size_bytes=size,
        container=container.format.name,
        duration_s=duration,
        width=None,
        height=None,
        video_codec=None,
        fps=None,
        frame_count=None,
        rotation=0,
        has_audio=True,
        has_video=False,
        audio_codec=ctx.name,
        audio_sample_rate=ctx.sample_rate,
        audio_channels=ctx.channels,
        streams=[describe_stream(s) for s in container.streams],
    )


def _undecodable(path: Path, stream: Any) -> ProbeError:
    ctx = stream.codec_context
    why = "corrupt data or unsupported codec"
    if not ctx.width or not ctx.height:
        why = "its header gives no valid picture size"  # ffmpeg zeroes absurd sizes
    return ProbeError(
        path,
        RejectReason.NO_DECODABLE_FRAMES,
        f"no decodable frames: the {ctx.name} stream could not be decoded ({why})",
    )


def _check_not_a_reference(path: Path, fmt: str) -> None:
    """Refuse playlists and stream descriptions before any packet is read from them."""
    if fmt in _REFERENCE_FORMATS:
        raise ProbeError(
            path,
            RejectReason.NOT_A_VIDEO,
            f"not a video file but a playlist or stream description ({fmt}) that points "
            "to other files or the network",
        )


def _check_frame_rate(path: Path, fps: float | None, duration: float) -> None:
    if fps is not None and 0 < fps < _MIN_FPS:
        raise ProbeError(
            path,
            RejectReason.BAD_FRAME_RATE,
            f"absurd frame rate: {fps:.3g} fps (one frame every {1 / fps:.0f} s) "
            f"spread over {duration:.0f} s; the header's timing is damaged",
        )


def _long_enough(path: Path, duration: float) -> None:
    """Under a second there is nothing to index (a one-frame GIF declares 0.01 s)."""
    if duration < _MIN_DECODABLE_S:
        raise ProbeError(
            path, RejectReason.TOO_SHORT, f"{duration:.2f} s long: too short to index (< 1 s)"
        )


def _decodable_until(
    path: Path,
    container: av.container.InputContainer,
    stream: Any,
    first_t: float,
    duration: float,
    limits: ProbeSettings,
) -> float | None:
    """None when data reaches the declared end; else where it stops (a truncated file
    is indexed up to there). Rejects a file with less than a second of readable data."""
    # A frame is expected within ~2 s of the end (one GOP of a typical encode).
    probe_t = max(first_t, duration - 2.0)
    reached = data_reaches(container, stream, probe_t)
    if reached is not None and reached >= min(probe_t, duration * limits.min_decodable_ratio):
        return None
    lo, hi = first_t, probe_t  # data reaches lo; not hi
    for _ in range(12):
        mid = (lo + hi) / 2
        got = data_reaches(container, stream, mid)
        if got is not None and got >= mid - 1.0:
            lo = max(mid, got)
        else:
            hi = mid
            # The seek fell back to the last data there is, and a packet was read at
            # ``got``: the data reaches it. Without this, a header that declares years
            # over seconds of data never bisects down to them and reads as "ends at 0 s".
            lo = max(lo, min(got, hi)) if got is not None else lo
    if lo - first_t < _MIN_DECODABLE_S:
        raise ProbeError(
            path,
            RejectReason.TRUNCATED,
            f"truncated: the file declares {duration:.1f} s but its data ends at about {lo:.1f} s",
        )
    return lo
