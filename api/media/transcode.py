"""Clips in a codec every browser plays.

Every clip is re-encoded, also when the source is already playable: a stream copy can
only start at a keyframe (seconds early with long GOPs), while a re-encode starts at the
first frame at or after ``start_s`` and yields one format whatever the source (H.264 and
AAC in MP4, ``moov`` first so playback starts before the download ends). A playable
source can also be seeked in place through the file route.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.media.cache import file_cache
from api.media.source import RECIPE, BadSpan, MediaError, Source, decoding, source_stat

if TYPE_CHECKING:
    import av

    from vidkg.settings import Settings

MAX_WIDTH = 1920  # wider sources are scaled down (a clip is for viewing, not archiving)


def clip_span(src: Source, start_s: float, end_s: float, max_s: float) -> tuple[float, float]:
    """The span to cut, checked; ``end_s`` is clamped to the video's end, and the clamped
    length must be within ``max_s``. Times are kept to the millisecond (the cache key)."""
    if not (math.isfinite(start_s) and math.isfinite(end_s)):
        raise BadSpan("start_s and end_s must be finite numbers of seconds")
    if start_s < 0:
        raise BadSpan(f"start_s must be 0 or more, not {start_s:g}")
    if end_s <= start_s:
        raise BadSpan(f"end_s ({end_s:g}) must be greater than start_s ({start_s:g})")
    if start_s >= src.end_s:
        raise BadSpan(f"start_s {start_s:g} is at or past the video's end ({src.end_s:.3f} s)")
    a, b = round(start_s, 3), round(min(end_s, src.end_s), 3)
    if b - a > max_s + 1e-9:
        raise BadSpan(f"a clip is at most {max_s:g} s long (clip_max_s); asked for {b - a:g} s")
    return a, b


@dataclass(frozen=True)
class Encoder:
    """An output recipe: the codecs, the container, and how it is served."""

    tag: str  # part of the cache key
    video: str
    audio: str
    audio_format: str
    audio_frame: int  # samples per encoded audio frame
    format: str
    suffix: str
    options: dict[str, str]
    mux_options: dict[str, str]

    def media_type(self, has_video: bool) -> str:
        return f"{'video' if has_video else 'audio'}/{self.suffix.lstrip('.')}"


_FASTSTART = {"movflags": "+faststart"}
ENCODERS = (
    Encoder("h264", "libx264", "aac", "fltp", 1024, "mp4", ".mp4",
            {"preset": "veryfast", "crf": "23"}, _FASTSTART),
    Encoder("vp9", "libvpx-vp9", "libopus", "flt", 960, "webm", ".webm",
            {"deadline": "realtime", "cpu-used": "8", "crf": "32", "b": "0"}, {}),
)  # fmt: skip


@cache
def encoder() -> Encoder:
    """The first recipe whose encoders this PyAV build has: H.264/AAC in MP4 plays in
    every browser; VP9/Opus in WebM everywhere but old Safari. (PyAV's wheels ship
    libx264; libopenh264 is not in them, so it is not tried.)"""
    for enc in ENCODERS:
        if _has_encoder(enc.video) and _has_encoder(enc.audio):
            return enc
    raise RuntimeError("PyAV has no browser-playable video encoder (libx264, libvpx-vp9)")


def _has_encoder(name: str) -> bool:
    import av

    try:
        av.Codec(name, "w")
    except Exception:  # av raises its own error types for unknown codecs
        return False
    return True


@dataclass(frozen=True)
class Clip:
    path: Path
    media_type: str


def clip(settings: Settings, src: Source, start_s: float, end_s: float) -> Clip:
    """A playable clip of [start_s, end_s), made once and cached."""
    source_stat(src)
    a, b = clip_span(src, start_s, end_s, settings.api.clip_max_s)
    enc = encoder()
    name = f"{src.sha256}_{round(a * 1000)}_{round(b * 1000)}_{enc.tag}{RECIPE}{enc.suffix}"
    with decoding(src):
        path = file_cache(settings).get(name, lambda out: transcode(src, a, b, enc, out))
    return Clip(path, enc.media_type(src.has_video))


def transcode(src: Source, start_s: float, end_s: float, enc: Encoder, out: Path) -> None:
    """Decode [start_s, end_s) of the source and encode it with ``enc`` into ``out``.

    Video starts at the first frame at or after ``start_s``, timed on a constant rate
    grid; audio keeps whole frames that start in the span (so it starts and ends within
    one audio frame, ~20-30 ms, of the span).
    """
    import av
    import av.error

    from indexer.media import open_media

    with open_media(src.path) as inp:
        vin = inp.streams.video[0] if src.has_video and inp.streams.video else None
        ain = inp.streams.audio[0] if src.has_audio and inp.streams.audio else None
        if vin is None and ain is None:
            raise MediaError(f"video {src.video_id} has no stream to cut")
        if start_s > 0:
            with suppress(av.error.FFmpegError):  # unseekable: decoded from the start
                inp.seek(int(start_s * av.time_base), backward=True)  # keyframe at or before
        with av.open(str(out), "w", format=enc.format, options=enc.mux_options) as sink:
            video = _VideoOut(sink, vin, enc, start_s, src.rotation) if vin else None
            audio = _AudioOut(sink, ain, enc, start_s) if ain else None
            for t, frame in _frames(inp, [s for s in (vin, ain) if s is not None], end_s):
                if isinstance(frame, av.VideoFrame) and video:
                    video.add(t, frame)
                elif audio:
                    audio.add(t, frame)
            if not (video.count if video else audio.count if audio else 0):
                raise MediaError(f"nothing decodes between {start_s:g} and {end_s:g} s")
            for part in (video, audio):
                if part:
                    part.flush()


def _frames(
    inp: av.container.InputContainer, streams: list[Any], end_s: float
) -> Iterator[tuple[float, Any]]:
    """(time, frame) of ``streams`` until each has passed ``end_s`` (damaged packets are
    skipped; a damaged tail ends the clip)."""
    import av.error

    clocks = {s.index: _Clock() for s in streams}
    done: set[int] = set()
    for packet in inp.demux(*streams):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            continue
        except av.error.FFmpegError:
            return
        for frame in frames:
            t = clocks[packet.stream.index].time(frame)
            if t is not None and t >= end_s:
                done.add(packet.stream.index)
            elif t is not None:
                yield t, frame
        if len(done) == len(streams):
            return


class _Clock:
    """A frame's time as ffmpeg's best-effort timestamp has it: its pts, unless the pts
    run backwards more often than the dts. AVI has no pts: with packed B-frames (old
    DivX/Xvid files such as Megamind.avi) the guessed pts come out of order, the dts not."""

    def __init__(self) -> None:
        self.last = {"pts": -math.inf, "dts": -math.inf}
        self.faulty = {"pts": 0, "dts": 0}

    def time(self, frame: Any) -> float | None:
        for kind in ("pts", "dts"):
            value = getattr(frame, kind)
            if value is not None:
                self.faulty[kind] += value <= self.last[kind]
                self.last[kind] = value
        use_pts = frame.pts is not None and (
            self.faulty["pts"] <= self.faulty["dts"] or frame.dts is None
        )
        stamp = frame.pts if use_pts else frame.dts
        if stamp is None or frame.time_base is None:
            return None
        return float(stamp * frame.time_base)


class _VideoOut:
    def __init__(self, sink: Any, vin: Any, enc: Encoder, start_s: float, rotation: int) -> None:
        self.rate = Fraction(vin.average_rate or vin.guessed_rate or 25).limit_denominator(1001)
        self.stream = sink.add_stream(enc.video, rate=self.rate, options=enc.options)
        width, height = vin.codec_context.width, vin.codec_context.height
        scale = min(1.0, MAX_WIDTH / max(width, 1))
        self.width = max(2, round(width * scale / 2) * 2)
        self.height = max(2, round(height * scale / 2) * 2)
        self.turns = (-rotation // 90) % 4  # PyAV rotation is counter-clockwise degrees
        quarter = self.turns % 2 == 1
        self.stream.width = self.height if quarter else self.width
        self.stream.height = self.width if quarter else self.height
        self.stream.pix_fmt = "yuv420p"
        self.start_s = start_s
        self.last_pts = -1
        self.count = 0

    def add(self, t: float, frame: av.VideoFrame) -> None:
        if t < self.start_s - 1e-6:
            return
        pts = round((t - self.start_s) * self.rate)
        if pts <= self.last_pts:
            return  # faster than the output rate here (variable rate source): dropped
        out = frame.reformat(width=self.width, height=self.height, format="yuv420p")
        if self.turns:
            out = _rotated(out, self.turns)
        out.pts, out.time_base = pts, 1 / self.rate
        self.last_pts = pts
        self.count += 1
        self._mux(out)

    def flush(self) -> None:
        self._mux(None)

    def _mux(self, frame: av.VideoFrame | None) -> None:
        for packet in self.stream.encode(frame):
            self.stream.container.mux(packet)


def _rotated(frame: av.VideoFrame, turns: int) -> av.VideoFrame:
    import av
    import numpy as np

    image = np.ascontiguousarray(np.rot90(frame.to_ndarray(format="rgb24"), k=turns))
    return av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")


class _AudioOut:
    def __init__(self, sink: Any, ain: Any, enc: Encoder, start_s: float) -> None:
        import av

        ctx = ain.codec_context
        self.rate = 48000 if enc.audio == "libopus" else ctx.sample_rate or 48000
        layout = "stereo" if ctx.layout.nb_channels >= 2 else "mono"
        self.stream = sink.add_stream(enc.audio, rate=self.rate, layout=layout)
        self.resampler = av.AudioResampler(
            format=enc.audio_format, layout=layout, rate=self.rate, frame_size=enc.audio_frame
        )
        self.start_s = start_s
        self.samples = 0  # next output sample (pts)
        self.started = False
        self.count = 0

    def add(self, t: float, frame: av.AudioFrame) -> None:
        if t < self.start_s - 1e-6:
            return  # starts before the span: its tail (< one audio frame) is dropped
        if not self.started:
            self.samples = round((t - self.start_s) * self.rate)
            self.started = True
        frame.pts = None  # the resampler times its output from 0; ours are set below
        self.count += 1
        self._encode(self.resampler.resample(frame))

    def flush(self) -> None:
        self._encode(self.resampler.resample(None))
        self._encode([None])

    def _encode(self, frames: list[Any]) -> None:
        for frame in frames:
            if frame is not None:
                frame.pts, frame.time_base = self.samples, Fraction(1, self.rate)
                self.samples += frame.samples
            for packet in self.stream.encode(frame):
                self.stream.container.mux(packet)
