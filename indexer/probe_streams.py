"""Reading a stream's facts for the probe: rates, durations, the first frame, how far
its data reaches. Cheap by design: headers, a bounded number of packets, a few seeks."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import av
import av.error

from indexer.media import open_media

# How many packets to try while looking for a decodable frame.
_DECODE_BUDGET_PACKETS = 400
# How many packets to read after a seek while checking that data reaches a time; covers
# a GOP of 10 s at 60 fps, and demuxing without decoding is cheap.
_DEMUX_BUDGET_PACKETS = 5000


def has_packets(path: Path, stream_index: int) -> bool:
    """Whether the stream holds any packet, read in a fresh pass without decoding (the
    demuxer's end-of-stream marker, of size 0, is not one)."""
    with open_media(path) as container:
        stream = container.streams[stream_index]
        try:
            return any(packet.size for packet in container.demux(stream))
        except av.error.FFmpegError:
            return True  # damaged data was reached: the decode check tells the rest


def is_cover_art(stream: av.stream.Stream) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def frame_rate(stream: av.video.stream.VideoStream) -> float | None:
    if stream.type != "video":
        return None
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else None


def seconds(value: int | None, time_base: Any) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def declared_duration(container: av.container.InputContainer, stream: Any) -> float | None:
    candidates = [seconds(stream.duration, stream.time_base)]
    fps = frame_rate(stream)
    if stream.frames and fps:
        # Headers such as AVI's count frames; a truncated AVI still declares them all
        # while its container duration shrinks to the bytes that are left.
        candidates.append(stream.frames / fps)
    if container.duration is not None:
        candidates.append(container.duration / av.time_base)
    good = [c for c in candidates if c is not None and math.isfinite(c) and c > 0]
    return max(good) if good else None


def demuxed_duration(path: Path, stream_index: int) -> float:
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
        fps = frame_rate(stream)
    if last <= 0 and fps:
        last = packets / fps  # no timestamps at all: count frames
    return last


def decode_frames(container: av.container.InputContainer, stream: Any, budget: int):
    """Yield decoded frames of ``stream`` from the current position, skipping bad packets."""
    for count, packet in enumerate(container.demux(stream)):
        if count >= budget:
            return
        try:
            yield from packet.decode()
        except (av.error.FFmpegError, ValueError):
            continue


def first_frame_time(container: av.container.InputContainer, stream: Any):
    """(time, rotation, width, height) of the first frame that decodes, or None."""
    for frame in decode_frames(container, stream, _DECODE_BUDGET_PACKETS):
        t = frame.time if frame.time is not None else 0.0
        return t, int(getattr(frame, "rotation", 0) or 0), frame.width, frame.height
    return None


def data_reaches(container: av.container.InputContainer, stream: Any, t: float) -> float | None:
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


def describe_stream(stream: av.stream.Stream) -> dict[str, Any]:
    ctx = stream.codec_context
    info: dict[str, Any] = {"index": stream.index, "type": stream.type, "codec": ctx.name}
    if stream.type == "video":
        info.update(width=ctx.width, height=ctx.height, cover_art=is_cover_art(stream))
    elif stream.type == "audio":
        info.update(sample_rate=ctx.sample_rate, channels=ctx.channels)
    duration = seconds(stream.duration, stream.time_base)
    if duration is not None:
        info["duration_s"] = duration
    return info
