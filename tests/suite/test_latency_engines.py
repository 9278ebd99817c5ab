"""The latency track through the suite for the four engines (ours, faster-whisper,
openai-whisper, whisper.cpp) on real tiny.en and a real clip, as a user runs it: ``pytest
benchmarks/ -m stream`` in a subprocess. The slow tier: four models load, and openai-whisper and
whisper.cpp stream slower than real time on a shared CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.bench_runs import run_suite

from whisperbench.datasets import FIXTURE_REALSPEECH_DIR
from whisperbench.history import load_run
from whisperbench.implementations import get_implementation
from whisperbench.results.records import FirstWordsResult, StreamResult

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

ENGINES = ("transformers", "faster-whisper", "openai-whisper", "whisper.cpp")
CLIP = "fleurs_en-000"
"""10.6 s of read speech, 19 words (``SOURCES.md``)."""
WER_MARGIN = 0.10
"""The streamed WER may be at most 10 points above the same engine's offline WER."""
AT_END = {"openai-whisper": True}
"""Engines whose first words come only with the whole transcript."""


@pytest.fixture(scope="module")
def saved(offline_hub_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = [
        f"{n}: {why}" for n in ENGINES if (why := get_implementation(n).unavailable_reason())
    ]
    if missing:
        pytest.skip("; ".join(missing))
    return run_suite(
        tmp_path_factory.mktemp("latency-engines"),
        offline_hub_cache,
        f"--implementations={','.join(ENGINES)}",
        f"--audio={FIXTURE_REALSPEECH_DIR / f'{CLIP}.flac'}",
        "-m",
        "stream",
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_each_engine_streams_and_reports_first_words(saved: Path, engine: str) -> None:
    run = load_run(saved)
    mine = {case.key.kind: case.result for case in run.cases if case.key.implementation == engine}
    first, stream = mine["first-words"], mine["stream"]
    assert isinstance(first, FirstWordsResult) and isinstance(stream, StreamResult)
    assert 0 < (first.first_text_s or 0) <= (first.full_text_s or 0)
    assert first.params.get("first_words_at_end") is AT_END.get(engine, False)
    assert stream.stream_wer is not None and stream.offline_wer is not None
    assert stream.stream_wer <= stream.offline_wer + WER_MARGIN, stream.transcript
    assert stream.delays_s and min(stream.delays_s) > -0.5  # after the word, to the alignment
    assert 0 < (stream.delay_p50_s or 0) <= (stream.delay_p90_s or 0)
    assert stream.kept_up in (0.0, 1.0)
    assert stream.params.get("stream_word_times") == (
        "spread over segments" if engine == "transformers" else "engine"
    )
