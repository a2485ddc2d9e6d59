"""Probe a file before anything is stored: is it a video vidkg can index, and what is in it?

Every rejection is a :class:`ProbeError` with a machine-readable reason and a sentence a
person can act on. The probe reads headers, decodes the first frame and checks that
frames still decode near the declared end (a truncated upload is indexed up to where its
data ends, and the rest is reported) — a handful of seeks, so it costs the same for a
minute or an hour of video. Audio-only files are accepted for speech.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import av
import av.error

from indexer.media import open_media
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
# How many packets to try while looking for a decodable frame.
_DECODE_BUDGET_PACKETS = 400
# How many packets to read after a seek while checking that data reaches a time; covers
# a GOP of 10 s at 60 fps, and demuxing without decoding is cheap.
_DEMUX_BUDGET_PACKETS = 5000
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
    videos = [s for s in container.streams.video if not _is_cover_art(s)]
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
    first = _first_frame_time(container, stream)
    if first is None:
        if audios and not _has_packets(path, stream.index):
            # A video stream declared with no picture at all: the sound is what it holds.
            return _probe_audio_only(path, size, container, audios[0])
        raise _undecodable(path, stream)
    first_t, rotation, width, height = first
    duration = _declared_duration(container, stream)
    decodable = None
    if duration is None:
        # Every packet was read to measure it, so none can be missing: no truncation check.
        duration = _demuxed_duration(path, stream.index)
    else:
        decodable = _decodable_until(path, container, stream, first_t, duration, limits)
    if duration <= 0:
        raise ProbeError(
            path, RejectReason.STILL_IMAGE, "a single frame with no duration, not a video"
        )
    _long_enough(path, duration)

    fps = _fps(stream)
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
        streams=[_describe(s) for s in container.streams],
    )


def _probe_audio_only(
    path: Path, size: int, container: av.container.InputContainer, audio: Any
) -> VideoProbe:
    """An audio-only file is indexed for speech; the visual stages skip it."""
    duration = _declared_duration(container, audio) or _demuxed_duration(path, audio.index)
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
        streams=[_describe(s) for s in container.streams],
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


def _has_packets(path: Path, stream_index: int) -> bool:
    """Whether the stream holds any packet, read in a fresh pass without decoding (the
    demuxer's end-of-stream marker, of size 0, is not one)."""
    with open_media(path) as container:
        stream = container.streams[stream_index]
        try:
            return any(packet.size for packet in container.demux(stream))
        except av.error.FFmpegError:
            return True  # damaged data was reached: the decode check tells the rest


def _long_enough(path: Path, duration: float) -> None:
    """Under a second there is nothing to index (a one-frame GIF declares 0.01 s)."""
    if duration < _MIN_DECODABLE_S:
        raise ProbeError(
            path, RejectReason.TOO_SHORT, f"{duration:.2f} s long: too short to index (< 1 s)"
        )


def _is_cover_art(stream: av.stream.Stream) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _fps(stream: av.video.stream.VideoStream) -> float | None:
    if stream.type != "video":
        return None
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else None


def _seconds(value: int | None, time_base: Any) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _declared_duration(container: av.container.InputContainer, stream: Any) -> float | None:
    candidates = [_seconds(stream.duration, stream.time_base)]
    fps = _fps(stream)
    if stream.frames and fps:
        # Headers such as AVI's count frames; a truncated AVI still declares them all
        # while its container duration shrinks to the bytes that are left.
        candidates.append(stream.frames / fps)
    if container.duration is not None:
        candidates.append(container.duration / av.time_base)
    good = [c for c in candidates if c is not None and math.isfinite(c) and c > 0]
    return max(good) if good else None


def _demuxed_duration(path: Path, stream_index: int) -> float:
    """Duration of a stream whose headers carry none (raw elementary streams, which
    cannot seek), by reading every packet once in a fresh pass, without decoding."""
    with open_media(path) as container:
        stream = container.streams[stream_index]
        last, packets = 0.0, 0
        for packet in container.demux(stream):
            if packet.size == 0:
                continue  # the demuxer's end-of-stream marker
            packets += 1
            if packet.pts is not None and packet.time_base is not None:
                end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                last = max(last, end)
        fps = _fps(stream)
    if last <= 0 and fps:
        last = packets / fps  # no timestamps at all: count frames
    return last


def _decode_frames(container: av.container.InputContainer, stream: Any, budget: int):
    """Yield decoded frames of ``stream`` from the current position, skipping bad packets."""
    for count, packet in enumerate(container.demux(stream)):
        if count >= budget:
            return
        try:
            yield from packet.decode()
        except (av.error.FFmpegError, ValueError):
            continue


def _first_frame_time(container: av.container.InputContainer, stream: Any):
    """(time, rotation, width, height) of the first frame that decodes, or None."""
    for frame in _decode_frames(container, stream, _DECODE_BUDGET_PACKETS):
        t = frame.time if frame.time is not None else 0.0
        return t, int(getattr(frame, "rotation", 0) or 0), frame.width, frame.height
    return None


def _data_reaches(container: av.container.InputContainer, stream: Any, t: float) -> float | None:
    """Seek to ``t``; return the latest packet time read up to ``t``, or None if none.

    Truncation is missing data, so reading packets (no decoding) is enough, and it
    stays cheap however long the GOP.
    """
    try:
        container.seek(int(t / stream.time_base), stream=stream, backward=True)
    except av.error.FFmpegError:
        return None
    latest = None
    try:
        for count, packet in enumerate(container.demux(stream)):
            if packet.pts is not None and packet.time_base is not None:
                latest = max(latest or 0.0, float(packet.pts * packet.time_base))
                if latest >= t:
                    break
            if count >= _DEMUX_BUDGET_PACKETS:
                break
    except av.error.FFmpegError:
        pass  # reading stopped at damaged data: report what was reached
    return latest


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
    reached = _data_reaches(container, stream, probe_t)
    if reached is not None and reached >= min(probe_t, duration * limits.min_decodable_ratio):
        return None
    lo, hi = first_t, probe_t  # data reaches lo; not hi
    for _ in range(12):
        mid = (lo + hi) / 2
        got = _data_reaches(container, stream, mid)
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


def _describe(stream: av.stream.Stream) -> dict[str, Any]:
    ctx = stream.codec_context
    info: dict[str, Any] = {"index": stream.index, "type": stream.type, "codec": ctx.name}
    if stream.type == "video":
        info.update(width=ctx.width, height=ctx.height, cover_art=_is_cover_art(stream))
    elif stream.type == "audio":
        info.update(sample_rate=ctx.sample_rate, channels=ctx.channels)
    duration = _seconds(stream.duration, stream.time_base)
    if duration is not None:
        info["duration_s"] = duration
    return info
