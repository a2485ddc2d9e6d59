"""``vidkg ingest`` end to end in a child process: stages, JSON report, resume, summary."""

from __future__ import annotations

import json

from tests.support import SAMPLE, run_cli
from vidkg.settings import Settings


def test_ingest_chosen_stages_then_resume(settings: Settings) -> None:
    first = run_cli(settings, "ingest", "--json", "--stages", "asr,scenes", str(SAMPLE))
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)["results"][0]
    assert result["status"] == "ingested"
    assert list(result["report"]["stages"]) == ["scenes", "asr"]  # pipeline order
    assert result["counts"]["scenes"] == 9 and result["counts"]["cuts"] == 8
    assert result["counts"]["words"] >= 40 and result["counts"]["text_tracks"] == 0
    assert result["report"]["realtime"] > 0

    again = run_cli(settings, "ingest", "--stages", "scenes,asr", str(SAMPLE))
    assert again.returncode == 0, again.stderr
    assert "already registered as video 1" in again.stdout
    assert "1 chunk(s) already done" in again.stdout and "x realtime" in again.stdout
    assert "9 scenes, 8 cuts" in again.stdout


def test_unknown_stage_is_refused(settings: Settings) -> None:
    result = run_cli(settings, "ingest", "--stages", "asr,faces", str(SAMPLE))
    assert result.returncode == 2
    assert "unknown stage(s) faces; choose from scenes, asr, ocr" in result.stderr
