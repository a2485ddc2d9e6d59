"""Extraction quality on a 5-minute haystack from ../shared/bench (seed 1), against its
exact ground truth: cuts, needle sentences, a real recorded voice, film dialogue, needle
text cards and people. The video is ingested in-process in 100 s chunks (conftest), so
chunk edges are part of what is measured. The numbers are printed (``pytest -s``) for the
closing notes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from api.cli.bench_quality import extraction_quality
from api.cli.bench_scoring import normalise, overlaps, word_error_rate
from tests.conftest import IngestedHaystack
from tests.support import BENCH
from vidkg.db import open_database
from vidkg.settings import Settings

# Whisper base on espeak-ng's synthetic voices mishears some names and rare words; measured
# 0.08 on this haystack with greedy decoding in 100 s chunks (0.14 in one 300 s chunk). A
# regression that loses or garbles sentences wholesale goes far above 0.25.
MAX_NEEDLE_WER = 0.25
# Photos in the haystack that do show people (footballers): not "photo slides without people".
PHOTOS_WITH_PEOPLE = {"messi5.jpg"}


@dataclass
class Haystack:
    truth: dict
    video: Path
    rows: dict[str, list[dict]]
    settings: Settings


@pytest.fixture(scope="module")
def haystack(haystack5: IngestedHaystack) -> Haystack:
    queries = {
        "cuts": "SELECT start_s FROM scenes WHERE cut_before ORDER BY start_s",
        "words": "SELECT (w->>'start_s')::float AS start_s, (w->>'end_s')::float AS end_s, "
        "w->>'text' AS text FROM speech_segments, jsonb_array_elements(words) w "
        "ORDER BY 1",
        "texts": "SELECT text, start_s, end_s FROM onscreen_text ORDER BY start_s",
        "people": "SELECT start_s, end_s FROM tracks WHERE label = 'person'",
    }
    db = open_database(haystack5.settings)
    with db.engine.connect() as conn:
        rows = {k: [dict(r) for r in conn.execute(text(q)).mappings()] for k, q in queries.items()}
    db.dispose()
    return Haystack(haystack5.truth, haystack5.video, rows, haystack5.settings)


def _said(h: Haystack, start_s: float, end_s: float, slack: float = 0.5) -> str:
    return " ".join(
        w["text"] for w in h.rows["words"] if start_s - slack <= w["start_s"] <= end_s + slack
    )


def test_cuts_match_the_truth(haystack: Haystack, tmp_path: Path) -> None:
    pred = tmp_path / "cuts.json"
    pred.write_text(json.dumps({"cuts": [c["start_s"] for c in haystack.rows["cuts"]]}))
    truth = haystack.video.with_name("truth.json")
    scored = subprocess.run(
        [
            sys.executable,
            str(BENCH / "score.py"),
            "--truth",
            str(truth),
            "--cuts",
            str(pred),
            "--json",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(scored.stdout)
    print("cuts:", result)
    f1 = result.get("f1", result.get("cuts", {}).get("f1"))
    assert f1 is not None and f1 >= 0.9
    # `vidkg bench ingest --truth` scores cuts itself: the same as the bench's scorer.
    db = open_database(haystack.settings)
    try:
        with db.engine.connect() as conn:
            video_id = conn.execute(text("SELECT id FROM videos")).scalar_one()
        ours = extraction_quality(db, video_id, haystack.truth)
    finally:
        db.dispose()
    print("bench quality:", ours)
    assert ours["cuts"]["f1"] == pytest.approx(f1, abs=1e-3)
    assert ours["person_windows"]["found"] == ours["person_windows"]["total"] > 0
    assert ours["needle_wer"] <= MAX_NEEDLE_WER and ours["detections_per_min"] > 0
    assert ours["texts_read"]["read"] >= ours["texts_read"]["total"] - 1


def test_needle_sentences_are_transcribed(haystack: Haystack) -> None:
    errors = words = 0
    for spoken in haystack.truth["speech"]:
        if spoken["kind"] != "tts":
            continue
        heard = _said(haystack, spoken["start_s"], spoken["end_s"])
        n = len(normalise(spoken["text"]).split())
        errors += word_error_rate(spoken["text"], heard) * n
        words += n
        print(f"{spoken['start_s']:7.1f} {spoken['text']!r} -> {heard!r}")
    wer = errors / words
    print(f"WER over {words} words of narration: {wer:.3f}")
    assert wer <= MAX_NEEDLE_WER


def test_real_voices_and_film_dialogue(haystack: Haystack) -> None:
    for spoken in haystack.truth["speech"]:
        heard = normalise(_said(haystack, spoken["start_s"], spoken["end_s"], 1.0))
        if spoken["kind"] == "recording" and spoken["needle"]:
            assert normalise(spoken["text"]) in heard, (spoken, heard)
        if spoken["kind"] == "film_dialogue":
            assert len(heard.split()) >= 8, heard  # Megamind's four lines
            assert {"judge", "book", "cover"} <= set(heard.split()), heard


def test_needle_text_is_found_with_its_times(haystack: Haystack) -> None:
    for shown in haystack.truth["onscreen_text"]:
        if not shown["needle"] or shown["style"] == "scene_text":
            continue
        words = set(normalise(shown["text"]).split())
        hits = [
            r
            for r in haystack.rows["texts"]
            if overlaps(shown, r, 1.0) and set(normalise(r["text"]).split()) & words
        ]
        read = {w for h in hits for w in normalise(h["text"]).split()}
        print(f"{shown['text']!r}: {[(h['text'], h['start_s'], h['end_s']) for h in hits]}")
        assert words <= read, (shown, haystack.rows["texts"])
        assert min(h["start_s"] for h in hits) == pytest.approx(shown["start_s"], abs=1.0)
        assert max(h["end_s"] for h in hits) == pytest.approx(shown["end_s"], abs=1.0)


def test_scene_text_needle_is_read(haystack: Haystack) -> None:
    needle = next(s for s in haystack.truth["onscreen_text"] if s["style"] == "scene_text")
    read = " ".join(
        normalise(r["text"]) for r in haystack.rows["texts"] if overlaps(needle, r, 1.0)
    )
    assert "double" in read and "parking" in read, read


def test_people_in_pedestrian_footage_and_not_in_photo_slides(haystack: Haystack) -> None:
    """Every pedestrian segment has people; photo slides without people seldom do.
    The offline default weights are a fall-detection model that sees "people" in photos
    of fruit, an apple, a toy, a squirrel and a building. The shape test
    (DETECT__ASPECT_LIMITS) and keeping one-off sightings out of tracks leave 2 of the 17
    slides of this haystack with a false person (a zooming fruit and apple close-up):
    that is the bound. Real person weights (any ultralytics weights) do better."""
    people = haystack.rows["people"]
    pedestrians, false_slides, photos = [], [], 0
    for seg in haystack.truth["segments"]:
        inside = [p for p in people if overlaps(seg, p, -0.1)]
        if seg["source"] == "vtest.avi":
            pedestrians.append((seg["start_s"], len(inside)))
        elif seg["kind"] == "photo" and seg["source"] not in PHOTOS_WITH_PEOPLE:
            photos += 1
            if inside:
                false_slides.append((seg["source"], seg["start_s"], len(inside)))
    print(f"person tracks per pedestrian segment: {pedestrians}")
    print(f"photo slides with a false person: {len(false_slides)} of {photos}: {false_slides}")
    assert all(n >= 1 for _, n in pedestrians)
    assert len(false_slides) <= 2
