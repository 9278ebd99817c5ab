"""The latency track (``-m stream``): time to first words (batch 1, warm) and a simulated live
stream of each clip (``--stream-chunk-s``, ``--stream-buffer-s``) with emission delays, the
stream's real-time factor, whether it kept up, and the streamed WER beside the offline WER."""

from __future__ import annotations

from typing import Any

import pytest

from whisperbench.results.records import FirstWordsResult, StreamResult
from whisperbench.suite.cases import FirstWordsCase, Skip, StreamCase
from whisperbench.suite.inputs import ClipLibrary
from whisperbench.suite.latency import measure_first_words, measure_stream
from whisperbench.suite.pool import ModelPool
from whisperbench.suite.references import ReferenceTimes

pytestmark = [pytest.mark.stream, pytest.mark.latency]


def test_first_words(
    benchmark: Any,
    model_pool: ModelPool,
    clip_library: ClipLibrary,
    suite_config: Any,
    terminal: Any,
    first_words_case: FirstWordsCase,
    record_result: Any,
) -> None:
    benchmark.group = f"first-words-{first_words_case.clip}"
    try:
        clip = clip_library.get(first_words_case.clip)
        loaded = model_pool.get(first_words_case.implementation, first_words_case.size)
    except Skip as reason:
        pytest.skip(str(reason))
    measured = measure_first_words(
        benchmark,
        loaded,
        clip,
        rounds=suite_config.rounds,
        warmup_rounds=suite_config.warmup_rounds,
        progress=terminal.progress,
    )
    record_result(measured)
    result = measured.result
    assert isinstance(result, FirstWordsResult)
    assert result.first_text_s is not None and result.full_text_s is not None
    assert 0 < result.first_text_s <= result.full_text_s


def test_stream(
    benchmark: Any,
    model_pool: ModelPool,
    clip_library: ClipLibrary,
    reference_times: ReferenceTimes,
    suite_config: Any,
    terminal: Any,
    stream_case: StreamCase,
    record_result: Any,
) -> None:
    benchmark.group = f"stream-{stream_case.clip}"
    try:
        clip = clip_library.get(stream_case.clip)
        loaded = model_pool.get(stream_case.implementation, stream_case.size)
        measured = measure_stream(
            benchmark,
            loaded,
            clip,
            reference_times.words(clip),
            chunk_s=suite_config.stream_chunk_s,
            buffer_s=suite_config.stream_buffer_s,
            progress=terminal.progress,
        )
    except Skip as reason:
        pytest.skip(str(reason))
    record_result(measured)
    result = measured.result
    assert isinstance(result, StreamResult)
    assert result.stream_wer is not None and result.offline_wer is not None
    assert result.kept_up in (0.0, 1.0)
