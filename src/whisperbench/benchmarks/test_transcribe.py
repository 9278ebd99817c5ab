"""Transcription speed (median of timed rounds after warm-up, cold run apart) and accuracy (WER)."""

from __future__ import annotations

from typing import Any

import pytest

from whisperbench.results.records import TranscribeResult
from whisperbench.suite.cases import Skip, TranscribeCase
from whisperbench.suite.inputs import ClipLibrary
from whisperbench.suite.measure import measure_transcription
from whisperbench.suite.pool import ModelPool


def test_transcribe(
    benchmark: Any,
    model_pool: ModelPool,
    clip_library: ClipLibrary,
    suite_config: Any,
    terminal: Any,
    transcribe_case: TranscribeCase,
    record_result: Any,
) -> None:
    benchmark.group = f"transcribe-{transcribe_case.clip}"
    try:
        clip = clip_library.get(transcribe_case.clip)
        loaded = model_pool.get(transcribe_case.implementation, transcribe_case.size)
    except Skip as reason:
        pytest.skip(str(reason))
    measured = measure_transcription(
        benchmark,
        loaded,
        clip,
        rounds=suite_config.rounds,
        warmup_rounds=suite_config.warmup_rounds,
        progress=terminal.progress,
        resource_interval_s=suite_config.resource_interval_s,
        notify=terminal.notify,
    )
    record_result(measured)
    # Silence, noise or music may rightly give no text: only a clip whose reference has words
    # makes an empty transcript a failure (an engine that returns nothing on speech).
    result = measured.result
    assert isinstance(result, TranscribeResult)
    if result.wer is not None:
        assert result.transcript, (
            f"{transcribe_case.id}: empty transcript for {clip.path}, whose reference has words"
        )
