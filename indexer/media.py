"""Streaming decode with PyAV: constant memory whatever the length of the video.

Video is decoded once per chunk. Every frame yields a small grey thumbnail taken from
the decoder's own Y plane by striding (no copy, no colour conversion), which is all the
shot detector needs; only sampled frames are converted to RGB and scaled, by libswscale.
Audio is resampled to 16 kHz mono float32 by libswresample.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import numpy as np

AUDIO_RATE = 16000
THUMB_WIDTH = 80  # pixels across the shot detector's thumbnails (about)


@dataclass
class DecodedFrame:
    """Every decoded frame: its time and thumbnail; ``image`` when sampled, or made on
    demand by :meth:`rgb` while the frame is current (before the next one is decoded)."""

    t_s: float
    thumb: np.ndarray  # small grey picture (luma), uint8, about THUMB_WIDTH wide
    chroma: np.ndarray  # U and V at the same size, side by side (the shot detector's colour)
    image: np.ndarray | None  # RGB, upright, scaled to the requested width
    _source: av.VideoFrame | None = None
    _width: int = 640
    _rotation: int = 0

    def rgb(self) -> np.ndarray:
        if self.image is None:
            assert self._source is not None
            self.image = _rgb(self._source, self._width, self._rotation)
        return self.image


def _rgb(frame: av.VideoFrame, width: int, rotation: int) -> np.ndarray:
    w = min(width, frame.width) // 2 * 2
    h = max(2, round(frame.height * w / frame.width / 2) * 2)
    image = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
    return _upright(image, rotation)


_OPEN_OPTIONS = {"metadata_errors": "ignore"} if int(av.__version__.split(".")[0]) < 19 else {}


def open_media(path: Path | str) -> av.container.InputContainer:
    """Open a file for reading. Tags that are not UTF-8 (a title in Latin-1, or garbage)
    are skipped: PyAV before 19 would otherwise raise UnicodeDecodeError on opening,
    after the file was accepted. PyAV 19 (Python 3.12 and later) dropped the option and
    refuses it with a TypeError, which stopped every probe there."""
    return av.open(str(path), **_OPEN_OPTIONS)


def keyframe_times(path: Path, limit_s: float | None = None) -> list[float]:
    """Times of the video's keyframes, by demuxing only (no decoding): cheap."""
    times: list[float] = []
    with open_media(path) as container:
        if not container.streams.video:
            return times
        stream = container.streams.video[0]
        try:
            for packet in container.demux(stream):
                if packet.is_keyframe and packet.pts is not None and packet.time_base:
                    t = float(packet.pts * packet.time_base)
                    if limit_s is not None and t > limit_s:
                        break
                    times.append(t)
        except av.error.FFmpegError:
            pass  # damaged tail: what was read is what is there
    return sorted(times)


def read_audio(path: Path, start_s: float, end_s: float) -> np.ndarray:
    """Audio of [start_s, end_s) as 16 kHz mono float32 (empty when there is none).

    Decoded packet by packet: a damaged packet (Megamind.avi's first AC-3 frame) is
    skipped as ffmpeg does, instead of ending the stream. Sample 0 is at ``start_s``:
    audio that starts later is padded with silence, so word times stay exact.
    """
    with open_media(path) as container:
        if not container.streams.audio:
            return np.zeros(0, np.float32)
        stream = container.streams.audio[0]
        collected = _AudioCollector(start_s)
        if start_s > 0:
            # av.time_base is AV_TIME_BASE (1000000 per second): seconds times it.
            container.seek(int(max(0.0, start_s - 1.0) * av.time_base), any_frame=False)
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                continue
            except av.error.FFmpegError:
                break  # truncated: keep what decoded
            if not collected.add(frames, end_s):
                break
    return collected.samples(end_s)


class _AudioCollector:
    """Resampled audio and the time of its first sample."""

    def __init__(self, start_s: float) -> None:
        self.start_s = start_s
        self.first_s: float | None = None
        self.parts: list[np.ndarray] = []
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)

    def add(self, frames: list[av.AudioFrame], end_s: float) -> bool:
        """Keep ``frames``; False once ``end_s`` is reached."""
        for frame in frames:
            if frame.time is not None and frame.time >= end_s:
                return False
            for res in self.resampler.resample(frame):
                if self.first_s is None:
                    t = res.time if res.time is not None else frame.time
                    self.first_s = t if t is not None else self.start_s
                self.parts.append(res.to_ndarray().reshape(-1))
        return True

    def samples(self, end_s: float) -> np.ndarray:
        if not self.parts or self.first_s is None:
            return np.zeros(0, np.float32)
        audio = np.concatenate(self.parts)
        offset = round((self.first_s - self.start_s) * AUDIO_RATE)
        if offset > 0:
            audio = np.concatenate([np.zeros(offset, np.float32), audio])
        else:
            audio = audio[-offset:]
        n = max(0, round((end_s - self.start_s) * AUDIO_RATE))
        return audio[:n].astype(np.float32, copy=False)


def _thumbs(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray]:
    """Strided views of the Y plane, and of U and V side by side, at about THUMB_WIDTH
    (yuv420p); the frame's own buffers are read, nothing is converted."""
    step = max(1, math.ceil(frame.width / THUMB_WIDTH))
    planes = []
    for i, plane in enumerate(frame.planes[:3]):
        sub = 1 if i == 0 else 2
        rows = frame.height // sub if i else frame.height
        cols = frame.width // sub if i else frame.width
        arr = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:rows, :cols]
        s = max(1, step // sub)
        planes.append(arr[::s, ::s])
    h = min(p.shape[0] for p in planes)
    w = min(p.shape[1] for p in planes)
    y, u, v = (np.ascontiguousarray(p[:h, :w]) for p in planes)
    return y, np.hstack([u, v])


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    turns = (-(rotation or 0) // 90) % 4  # PyAV rotation is counter-clockwise degrees
    return np.ascontiguousarray(np.rot90(image, k=turns)) if turns else image


class VideoReader:
    """Decode [start_s, end_s) once, yielding every frame's thumbnail and RGB images
    for the frames that ``want_image`` selects. ``preroll_s`` also yields the frames
    just before ``start_s`` (flagged by their time) so a cut at the start is seen."""

    def __init__(self, path: Path, width: int) -> None:
        self.path = path
        self.width = width
        self.error: str | None = None  # set when decoding stopped at damaged data

    def frames(
        self, start_s: float, end_s: float, want_image, preroll_s: float = 0.0
    ) -> Iterator[DecodedFrame]:
        with open_media(self.path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            from_s = max(0.0, start_s - preroll_s)
            if from_s > 0:
                container.seek(int(from_s / stream.time_base), stream=stream, backward=True)
            last_t = -math.inf
            packets = container.demux(stream)
            while True:
                try:
                    packet = next(packets)
                    decoded = packet.decode()
                except StopIteration:
                    break
                except av.error.FFmpegError as exc:
                    self.error = f"decoding stopped: {exc}"
                    break
                for frame in decoded:
                    t = frame.time
                    if t is None or t <= last_t or t < from_s - 1e-6:
                        continue
                    if t >= end_s:
                        return
                    last_t = t
                    yield self._decoded(frame, t, want_image(t))

    def _decoded(self, frame: av.VideoFrame, t: float, with_image: bool) -> DecodedFrame:
        rotation = int(getattr(frame, "rotation", 0) or 0)
        if frame.format.name not in ("yuv420p", "yuvj420p"):
            frame = frame.reformat(format="yuv420p")
        image = _rgb(frame, self.width, rotation) if with_image else None
        luma, chroma = _thumbs(frame)
        return DecodedFrame(t, luma, chroma, image, frame, self.width, rotation)
