"""A corpus of damaged and hostile media files, made from Debian's real media.

``build_corpus(out_dir)`` writes every file and returns one :class:`Case` per file:
what was done to it and whether vidkg should refuse it (with a probe reason) or ingest
what it holds. Damage is deterministic (fixed seeds, fixed offsets, fixed encode
settings); ffmpeg's Matroska muxer writes random segment UIDs, so those files differ
in a few bytes from build to build, never in what they hold. The corpus stays small
(about 27 MB) and builds in seconds. Byte-level tools: ``tests/media/damage.py``; the
clean sources and :class:`Case`: ``tests/media/corpus.py``; files that lie about
themselves (absurd headers, bombs, endless inputs): ``tests/media/hostile.py``.

Sources: ``vtest.avi`` (MPEG-4 in AVI, 768x576, 10 fps), ``Megamind_bugy.avi`` (a
damaged AVI that opencv-doc ships), the ALSA test sounds, and ``samples/briefing.mp4``
(H.264 + AAC with speech); derived files are made with the ``ffmpeg`` CLI and PyAV.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import av

from tests.media import hostile
from tests.media.corpus import Case, Outcome, Sources
from tests.media.damage import copy, find_box, scribble, truncate
from tests.support import OPENCV_DATA, require

__all__ = ["CASE_NAMES", "Case", "build_corpus"]

# Every case, in build order: the test module parametrizes over these before building.
CASE_NAMES: tuple[str, ...] = (
    "empty",
    "directory",
    "symlink_loop",
    "endless_fifo",
    "trunc_mp4_faststart_1",
    "trunc_mp4_faststart_10",
    "trunc_mp4_faststart_50",
    "trunc_mp4_faststart_90",
    "trunc_mp4_moov_end_10",
    "trunc_mp4_moov_end_90",
    "trunc_mp4_moov_end_99_9",
    "trunc_avi_1",
    "trunc_avi_10",
    "trunc_avi_50",
    "trunc_avi_90",
    "header_garbage",
    "moov_garbage",
    "middle_garbage",
    "avi_header_garbage",
    "avi_middle_garbage",
    "megamind_bugy",
    "wav_as_mp4",
    "jpeg_as_mp4",
    "text_as_mp4",
    "avi_as_mp4",
    "mp4_as_wav",
    "video_stream_no_packets",
    "audio_stream_no_packets",
    "dims_65535_mp4",
    "dims_100000_avi",
    "dims_100000_mkv",
    "fps_1e6_mp4",
    "fps_1e6_avi",
    "fps_1e-5_avi",
    "frames_2e9_avi",
    "duration_31y_mkv",
    "wav_claims_2gb",
    "wav_noise_samples",
    "wav_header_only",
    "aac_garbage",
    "mp3_truncated",
    "bomb_8k_flat",
    "bomb_2h_black",
    "title_not_utf8_mkv",
    "title_not_utf8_mp4",
    "filename_not_utf8",
    "streams_2000",
    "streams_999",
    "live_playlist",
    "concat_self",
    "sdp_stream",
    "control_speech_mp4",
    "control_vtest_avi",
)


def build_corpus(out_dir: Path) -> list[Case]:
    """Write the corpus into ``out_dir`` (created) and describe each file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    src = Sources(out_dir / "sources")
    cases: list[Case] = []
    for make in _MAKERS:
        cases.extend(make(out_dir, src))
    names = tuple(c.name for c in cases)
    assert names == CASE_NAMES, "CASE_NAMES must list the cases, in order"
    return cases


# ---- cases -----------------------------------------------------------------------------


def _empty_and_special(out: Path, src: Sources) -> list[Case]:
    empty = out / "empty.mp4"
    empty.write_bytes(b"")
    folder = out / "folder.mp4"
    folder.mkdir()
    loop = out / "symlink_loop.mp4"
    loop.symlink_to(loop.name)
    fifo = out / "endless_fifo.mp4"
    os.mkfifo(fifo)  # nothing ever writes to it: reading it would block forever
    return [
        Case("empty", empty, "a zero-byte file named .mp4", "refused", "empty"),
        Case("directory", folder, "a directory named folder.mp4", "refused", "not_a_file"),
        Case("symlink_loop", loop, "a symlink that points at itself", "refused", "missing"),
        Case(
            "endless_fifo", fifo, "a named pipe no one writes to (endless)", "refused", "not_a_file"
        ),
    ]


def _truncations(out: Path, src: Sources) -> list[Case]:
    cases = []
    plan: list[tuple[str, Path, str, str, float, Outcome, str | None]] = [
        ("mp4_faststart", src.speech_fast, "mp4", "moov first", 0.01, "refused", None),
        ("mp4_faststart", src.speech_fast, "mp4", "moov first", 0.10, "refused", None),
        ("mp4_faststart", src.speech_fast, "mp4", "moov first", 0.50, "ingested", None),
        ("mp4_faststart", src.speech_fast, "mp4", "moov first", 0.90, "ingested", None),
        ("mp4_moov_end", src.speech_end, "mp4", "moov last", 0.10, "refused", "truncated"),
        ("mp4_moov_end", src.speech_end, "mp4", "moov last", 0.90, "refused", "truncated"),
        ("mp4_moov_end", src.speech_end, "mp4", "moov last", 0.999, "ingested", None),
        ("avi", src.avi, "avi", "index last", 0.01, "refused", None),
        ("avi", src.avi, "avi", "index last", 0.10, "ingested", None),
        ("avi", src.avi, "avi", "index last", 0.50, "ingested", None),
        ("avi", src.avi, "avi", "index last", 0.90, "ingested", None),
    ]
    for stem, source, ext, layout, fraction, expect, reason in plan:
        pct = f"{fraction * 100:g}".replace(".", "_")
        name = f"trunc_{stem}_{pct}"
        path = truncate(source, out / f"{name}.{ext}", fraction)
        what = f"{source.name} ({layout}) cut to its first {fraction:.1%} of bytes"
        stages = "scenes,asr" if ext == "mp4" and expect == "ingested" else "scenes"
        cases.append(Case(name, path, what, expect, reason, stages))
    return cases


def _corruptions(out: Path, src: Sources) -> list[Case]:
    fast = bytearray(src.speech_fast.read_bytes())
    head = bytearray(fast)
    scribble(head, 0, 64, seed=1)
    (out / "header_garbage.mp4").write_bytes(head)
    moov = bytearray(fast)
    stbl = find_box(moov, b"stbl")
    scribble(moov, stbl + 40, 48, seed=2)
    (out / "moov_garbage.mp4").write_bytes(moov)
    middle = bytearray(fast)
    mdat = find_box(middle, b"mdat")
    for i in range(8):  # eight 2 KB blocks spread over the coded data
        at = mdat + 64 + (len(middle) - mdat - 4096) * i // 8
        scribble(middle, at, 2048, seed=10 + i)
    (out / "middle_garbage.mp4").write_bytes(middle)
    avi = bytearray(src.avi.read_bytes())
    avi_head = bytearray(avi)
    scribble(avi_head, 12, 180, seed=3)  # the hdrl list: stream headers and format
    (out / "avi_header_garbage.avi").write_bytes(avi_head)
    avi_mid = bytearray(avi)
    for i in range(16):
        scribble(avi_mid, len(avi) // 4 + i * len(avi) // 40, 1024, seed=20 + i)
    (out / "avi_middle_garbage.avi").write_bytes(avi_mid)
    bugy = copy(require(OPENCV_DATA / "Megamind_bugy.avi"), out / "megamind_bugy.avi")
    return [
        Case(
            "header_garbage",
            out / "header_garbage.mp4",
            "first 64 bytes (ftyp, moov header) of speech_fast.mp4 overwritten with random bytes",
            "refused",
            "not_a_video",
        ),
        Case(
            "moov_garbage",
            out / "moov_garbage.mp4",
            "48 random bytes written over the sample tables (stbl) in the moov",
            "ingested",
        ),
        Case(
            "middle_garbage",
            out / "middle_garbage.mp4",
            "eight 2 KB blocks of random bytes spread over the coded pictures and sound (mdat)",
            "ingested",
            stages="scenes,asr",
        ),
        Case(
            "avi_header_garbage",
            out / "avi_header_garbage.avi",
            "180 random bytes over the AVI's hdrl (main and stream headers)",
            "refused",
        ),
        Case(
            "avi_middle_garbage",
            out / "avi_middle_garbage.avi",
            "sixteen 1 KB blocks of random bytes over the middle of the movi data",
            "ingested",
        ),
        Case(
            "megamind_bugy",
            bugy,
            "opencv-doc's own damaged Megamind_bugy.avi, as shipped",
            "ingested",
        ),
    ]


def _wrong_types(out: Path, src: Sources) -> list[Case]:
    wav = copy(src.voice, out / "wav_named.mp4")
    jpeg = copy(require(OPENCV_DATA / "baboon.jpg"), out / "jpeg_named.mp4")
    text = out / "text_named.mp4"
    text.write_text("Quarterly meeting notes\n" * 200)
    avi = copy(src.avi, out / "avi_named.mp4")
    mp4 = copy(src.speech_fast, out / "mp4_named.wav")
    return [
        Case("wav_as_mp4", wav, "the ALSA Front_Center.wav named .mp4", "ingested", stages="asr"),
        Case("jpeg_as_mp4", jpeg, "opencv-doc's baboon.jpg named .mp4", "refused", "still_image"),
        Case("text_as_mp4", text, "a text file named .mp4", "refused", "not_a_video"),
        Case("avi_as_mp4", avi, "vtest16.avi (MPEG-4 in AVI) named .mp4", "ingested"),
        Case("mp4_as_wav", mp4, "speech_fast.mp4 named .wav", "ingested", stages="scenes,asr"),
    ]


def _empty_streams(out: Path, src: Sources) -> list[Case]:
    """Streams declared in the header that hold no packet at all."""
    no_video = out / "video_stream_no_packets.mkv"
    no_audio = out / "audio_stream_no_packets.mkv"
    _remux(src.small_mkv, no_video, keep={"audio"})
    _remux(src.small_mkv, no_audio, keep={"video"})
    return [
        Case(
            "video_stream_no_packets",
            no_video,
            "an H.264 video stream declared with no packet, beside 1.4 s of AAC speech",
            "ingested",
            stages="scenes,asr",
        ),
        Case(
            "audio_stream_no_packets",
            no_audio,
            "an AAC audio stream declared with no packet, beside 6 s of video",
            "ingested",
            stages="scenes,asr",
        ),
    ]


def _remux(source: Path, dest: Path, keep: set[str]) -> None:
    """Copy ``source``'s streams into ``dest`` but only the packets of ``keep`` types."""
    with av.open(str(source)) as inp, av.open(str(dest), "w") as outp:
        pairs = {s.index: outp.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.dts is None or packet.stream.type not in keep:
                continue
            packet.stream = pairs[packet.stream.index]
            outp.mux(packet)


def _healthy(out: Path, src: Sources) -> list[Case]:
    """Controls: undamaged files, with every default stage."""
    return [
        Case(
            "control_speech_mp4",
            copy(src.speech_fast, out / "control_speech.mp4"),
            "undamaged: 8 s of the briefing (stream copy), every default stage",
            "ingested",
            stages="",
        ),
        Case(
            "control_vtest_avi",
            copy(src.avi, out / "control_vtest.avi"),
            "undamaged: 16 s of vtest.avi (stream copy), every default stage",
            "ingested",
            stages="",
        ),
    ]


_MAKERS: list[Callable[[Path, Sources], list[Case]]] = [
    _empty_and_special,
    _truncations,
    _corruptions,
    _wrong_types,
    _empty_streams,
    *hostile.MAKERS,
    _healthy,
]
