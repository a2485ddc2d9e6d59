"""The bundled sample video is what its ground truth says, and registers cleanly."""

from __future__ import annotations

import json

import pytest

from indexer.catalog import file_sha256, register_video
from tests.support import SAMPLE
from vidkg.db import Database
from vidkg.settings import Settings

TRUTH = json.loads(SAMPLE.with_name("briefing.truth.json").read_text())


def test_sample_matches_its_truth(db: Database, settings: Settings) -> None:
    assert SAMPLE.stat().st_size <= 5 * 1024 * 1024
    assert file_sha256(SAMPLE) == TRUTH["meta"]["sha256"]
    reg = register_video(db.sessions, settings, SAMPLE)
    probe = reg.probe
    assert probe.duration_s == pytest.approx(TRUTH["meta"]["duration_s"], abs=0.05)
    assert (probe.width, probe.height) == (TRUTH["meta"]["width"], TRUTH["meta"]["height"])
    assert probe.fps == pytest.approx(TRUTH["meta"]["fps"])
    assert probe.has_audio and probe.video_codec == "h264"
    # It has what the demo needs: speech, on-screen text and people.
    assert TRUTH["speech"] and TRUTH["onscreen_text"] and TRUTH["people"]
