"""The speech stage on real voices: a film's dialogue, the ALSA test voice and an espeak-ng
sentence placed in silence, and chunked audio stitched back without lost or doubled
words. Whisper runs for real (the base model from its weight packages)."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from faster_whisper.feature_extractor import FeatureExtractor

from indexer.media import read_audio
from indexer.memory import fix_mmap_threshold
from indexer.models import ModelRegistry
from indexer.stages.asr import SpeechStage
from indexer.stages.asr_features import BlockFeatureExtractor
from indexer.stages.asr_regions import speech_regions
from indexer.stages.base import ChunkAudio, SpeechRecord
from tests.support import ALSA_VOICE, MEGAMIND, require
from vidkg.settings import Settings
from vidkg.stage_settings import AsrSettings

RATE = ChunkAudio.SAMPLE_RATE
BRIDGE = "The inspection of the north bridge is scheduled for Monday at nine."
T0 = 100.0  # the test buffers' absolute start, as if they were a later chunk of a video


def words(records: list[SpeechRecord]) -> list[str]:
    """Lower-cased words without punctuation, in order."""
    return [re.sub(r"\W", "", w.text.lower()) for r in records for w in r.words]


def place(buffer: np.ndarray, at_s: float, voice: np.ndarray) -> None:
    buffer[int(at_s * RATE) : int(at_s * RATE) + len(voice)] = voice


def alsa_phrase(*names: str) -> np.ndarray:
    """The ALSA speaker-test voice saying several channel names, 0.2 s apart."""
    pause = np.zeros(RATE // 5, np.float32)
    folder = require(ALSA_VOICE).parent
    return np.concatenate([p for n in names for p in (read_audio(folder / n, 0, 60), pause)])


@pytest.fixture(scope="module")
def stage(registry: ModelRegistry) -> SpeechStage:
    return SpeechStage(registry, Settings().indexer.asr)


@pytest.fixture(scope="module")
def announced(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """40 s of silence with "front center" at 6 s and espeak-ng saying BRIDGE at 20 s."""
    wav = tmp_path_factory.mktemp("tts") / "bridge.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), BRIDGE], check=True, timeout=30)
    out = np.zeros(40 * RATE, np.float32)
    place(out, 6.0, read_audio(require(ALSA_VOICE), 0, 60))
    place(out, 20.0, read_audio(wav, 0, 60))
    return out


def test_film_dialogue(stage: SpeechStage) -> None:
    samples = read_audio(require(MEGAMIND), 0, 12)
    assert len(samples) > 11 * RATE, "the film's audio was not decoded"
    records = stage.process(ChunkAudio(0.0, samples, 0.0, 12.0))
    said = words(records)
    for word in ("judge", "book", "cover", "outside", "relief", "actions", "petty"):
        assert word in said, " ".join(r.text for r in records)
    assert all(r.language == "en" for r in records)
    assert all(0.0 <= r.start_s <= r.end_s <= 11.5 for r in records)


def test_words_are_placed_in_absolute_time(stage: SpeechStage, announced: np.ndarray) -> None:
    records = stage.process(ChunkAudio(T0, announced, T0, T0 + 40))
    said = words(records)
    # whisper base hears espeak-ng's "inspection" as "infection" in some contexts.
    for word in ("front", "center", "north", "monday"):
        assert word in said, " ".join(r.text for r in records)
    bridge = next(r for r in records if "monday" in words([r]))
    assert all(119.5 <= w.start_s <= w.end_s <= 124.0 for w in bridge.words)
    assert (bridge.start_s, bridge.end_s) == (bridge.words[0].start_s, bridge.words[-1].end_s)
    front = next(r for r in records if "front" in words([r]))
    assert 105.5 <= front.start_s <= front.end_s <= 107.8
    starts = [w.start_s for r in records for w in r.words]
    assert starts == sorted(starts)
    assert all(0 < (r.confidence or 0) <= 1 and r.text == r.text.strip() for r in records)


def test_speech_whisper_skipped_or_half_heard_is_listened_to_again(
    stage: SpeechStage, announced: np.ndarray
) -> None:
    """On the 60-minute haystacks whisper left out "Side, right" after a sentence and
    heard "Front, left" as "Left."; each, decoded alone, is heard whole. Here the first
    pass is given as whisper returned it in those cases: without "front center" (at 6 s),
    then with only "center"; what it heard right is kept as it was."""
    audio = ChunkAudio(T0, announced, T0, T0 + 40)
    full = stage.process(audio)
    sentence = [r for r in full if r.start_s > T0 + 15]
    front = [r for r in full if r.start_s < T0 + 15]
    assert words(front) == ["front", "center"] and words(sentence), [r.text for r in full]
    center = SpeechRecord(
        front[0].words[-1].start_s, front[0].end_s, "center", front[0].words[-1:], "en", 0.9
    )
    for first_pass in (sentence, [center, *sentence]):
        again = stage._relisten(announced, audio, speech_regions(announced), first_pass)
        heard = [r for r in again if r.start_s < T0 + 15]
        assert words(heard) == ["front", "center"], [r.text for r in again]
        assert 105.0 <= heard[0].start_s <= heard[-1].end_s <= 108.0
        assert [r for r in again if r.start_s > T0 + 15] == sentence
    assert stage._relisten(announced, audio, speech_regions(announced), full) == full


def test_overlapping_chunks_stitch_to_the_whole(stage: SpeechStage) -> None:
    # Real voice: whisper base hears it the same in any context, which espeak-ng's is not.
    buffer = np.zeros(40 * RATE, np.float32)
    place(buffer, 8.0, alsa_phrase("Front_Left.wav", "Front_Right.wav", "Rear_Left.wav"))
    place(buffer, 24.0, alsa_phrase("Side_Left.wav", "Side_Right.wav", "Rear_Center.wav"))
    whole = stage.process(ChunkAudio(T0, buffer, T0, T0 + 40))
    said = " ".join(words(whole))
    assert said == "front left front right rear left side left side right rear center"
    # The silence between the phrases parts records, though the VAD filter joins them.
    assert not any(r.start_s < T0 + 14 and r.end_s > T0 + 23.5 for r in whole)
    # Cut halfway between two word starts in the middle of the second phrase.
    last = whole[-1].words
    cut = (last[len(last) // 2 - 1].start_s + last[len(last) // 2].start_s) / 2 - T0
    overlap = 5.0
    first = ChunkAudio(T0, buffer[: int((cut + overlap) * RATE)], T0, T0 + cut)
    from_s = cut - overlap
    second = ChunkAudio(T0 + from_s, buffer[int(from_s * RATE) :], T0 + cut, T0 + 40)
    head, tail = stage.process(first), stage.process(second)
    assert words(head)[-1] == "side" and words(tail)[0] == "right"  # the cut splits a phrase
    assert words(head + tail) == words(whole)
    stitched = [w.start_s for r in head + tail for w in r.words]
    # Whisper's word times move with the audio around them: on one CPU every word was
    # within 0.3 s, on another (AMD EPYC) the last word came 0.43 s earlier in the tail.
    assert np.allclose(stitched, [w.start_s for r in whole for w in r.words], atol=0.5)


class NoModel:
    """A registry whose model must not be loaded."""

    def whisper(self) -> None:
        raise AssertionError("the model was called")


@pytest.mark.parametrize(
    "samples",
    [np.zeros(0, np.float32), np.zeros(5 * RATE, np.float32), np.full(800, 0.5, np.float32)],
    ids=["empty", "silence", "under-0.1s"],
)
def test_nothing_to_hear_skips_the_model(samples: np.ndarray) -> None:
    stage = SpeechStage(NoModel(), AsrSettings())  # type: ignore[arg-type]
    assert stage.process(ChunkAudio(0.0, samples, 0.0, 10.0)) == []


def test_keep_window_and_punctuation() -> None:
    """Words are kept by start in [keep_from, keep_until); lone punctuation is no word."""

    def word(start: float, text: str) -> SimpleNamespace:
        return SimpleNamespace(start=start, end=start + 0.3, word=text, probability=0.5)

    segments = [
        SimpleNamespace(words=[word(0.5, " cut"), word(1.0, " kept"), word(2.0, " next")]),
        SimpleNamespace(words=[word(1.5, " ."), word(1.6, "  ")]),
    ]
    info = SimpleNamespace(language="en")
    model = SimpleNamespace(transcribe=lambda *a, **k: (iter(segments), info))
    registry = SimpleNamespace(whisper=lambda: model)
    stage = SpeechStage(registry, AsrSettings())  # type: ignore[arg-type]
    ones = np.ones(3 * RATE, np.float32)  # _decode: no VAD, the fake segments as given
    [record] = stage._decode(ones, ChunkAudio(10.0, ones, 10.8, 12.0), 0.0)
    assert record.text == "kept" and [w.text for w in record.words] == ["kept"]
    assert (record.start_s, record.end_s) == pytest.approx((11.0, 11.3))
    assert record.confidence == 0.5 and record.language == "en"


def test_word_pieces_are_glued() -> None:
    """Whisper emits "3" + ",000" and "semi" + "-final" as pieces, the second without a
    leading space: one word each, so "3,000" is a number, not "3 ,000"; a piece of a word
    outside the keep window goes with it."""

    def word(start: float, text: str) -> SimpleNamespace:
        return SimpleNamespace(start=start, end=start + 0.2, word=text, probability=0.9)

    raw = [" cut", "-off", " 3", ",000", " semi", "-final", " late", "-news"]
    starts = [0.1, 0.3, 1.0, 1.2, 1.5, 1.7, 2.6, 2.8]
    segments = [SimpleNamespace(words=[word(t, w) for t, w in zip(starts, raw, strict=True)])]
    model = SimpleNamespace(
        transcribe=lambda *a, **k: (iter(segments), SimpleNamespace(language="en"))
    )
    stage = SpeechStage(SimpleNamespace(whisper=lambda: model), AsrSettings())  # type: ignore[arg-type]
    ones = np.ones(3 * RATE, np.float32)
    [record] = stage._decode(ones, ChunkAudio(10.0, ones, 10.5, 12.5), 0.0)
    assert [w.text for w in record.words] == ["3,000", "semi-final"]
    assert record.text == "3,000 semi-final"
    assert (record.words[0].start_s, record.words[0].end_s) == pytest.approx((11.0, 11.4))


def test_hyphenated_word_from_real_speech(stage: SpeechStage, tmp_path) -> None:
    wav = tmp_path / "final.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(wav), "The new semi-final starts at half past six."],
        check=True,
        timeout=30,
    )
    samples = read_audio(wav, 0, 30)
    records = stage.process(ChunkAudio(0.0, samples, 0.0, len(samples) / RATE))
    texts = [w.text for r in records for w in r.words]
    # Heard as "semi" + "-final" or as "semifinals", depending on the audio around it;
    # either way one word, and no word starts with punctuation.
    assert any("final" in t for t in texts) and "semi" not in texts, texts
    assert not any(t[0] in ",-." for t in texts), texts


def test_glibc_takes_the_fixed_mmap_threshold() -> None:
    """An ingest process can fix glibc's mmap threshold (indexer/memory.py); 0, the
    default, keeps glibc's own. In a child process: the threshold stays for the process's
    life, and this one runs other tests' ingests."""
    assert not fix_mmap_threshold(Settings().indexer.mmap_threshold_bytes)
    code = "from indexer.memory import fix_mmap_threshold as f; print(f(1048576))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "True", done.stderr


FRAGMENTED = """
from indexer.memory import release_free_memory
def rss(): return int(open("/proc/self/statm").read().split()[1]) * 4096 // 2**20
blocks = [bytes(100_000) for _ in range(2000)]  # 200 MB from the heap (under 128 KiB)
keep = blocks[::50]  # live blocks between the freed ones keep the heap from shrinking
del blocks
print(rss(), release_free_memory(), rss())
"""


def test_freed_heap_goes_back_after_a_unit() -> None:
    """What a unit freed between blocks still in use stays in the process until
    ``malloc_trim`` (indexer/memory.py, after every unit) gives the pages back."""
    done = subprocess.run([sys.executable, "-c", FRAGMENTED], capture_output=True, text=True)
    before, trimmed, after = done.stdout.split()
    assert trimmed == "True" and int(before) - int(after) >= 100, (done.stdout, done.stderr)


def test_whisper_features_are_the_same_without_the_peak(registry: ModelRegistry) -> None:
    """A whole chunk's speech (310 s of Megamind's dialogue, repeated): the features come
    out bit for bit as faster-whisper's own, in a fraction of its memory (it held the
    whole spectrum at once: the 60-minute ingest's peak was there)."""
    audio = np.resize(read_audio(require(MEGAMIND), 0, 60), 310 * RATE)
    ours = registry.whisper().feature_extractor
    assert isinstance(ours, BlockFeatureExtractor)
    features, peaks = [], []
    for extractor in (FeatureExtractor(), ours):
        tracemalloc.start()
        features.append(extractor(audio, chunk_length=30))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert features[0].shape == (80, 31001)  # 10 ms frames, one of padding
    assert np.array_equal(features[0], features[1])
    assert peaks[1] < peaks[0] / 3, peaks


def test_speech_falls_back_to_the_cpu_where_cuda_cannot_run_it(
    shared_models: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Vision asked onto CUDA where CTranslate2 cannot compute there (here: no GPU; on a
    GPU image with only CUDA 13, the missing libcublas.so.12) still hears the voice, on
    the CPU, and says why in the log instead of failing every speech unit."""
    import ctranslate2

    if ctranslate2.get_cuda_device_count() > 0:
        pytest.skip("CTranslate2 sees a GPU here: the fallback is not taken")
    cfg = Settings().indexer.model_copy(update={"device": "cuda"})
    with caplog.at_level(logging.WARNING, logger="indexer.models"):
        model = ModelRegistry(cfg, shared_models).whisper()
    assert model.model.device == "cpu"
    assert "speech runs on the CPU" in caplog.text
    segments, _ = model.transcribe(read_audio(require(ALSA_VOICE), 0, 60), language="en")
    heard = " ".join(s.text for s in segments).lower()
    assert "front" in heard and "center" in heard, heard
