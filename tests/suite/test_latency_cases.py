"""The latency track as suite case kinds (``suite/latency.py``, ``benchmarks/test_latency.py``):
its options checked in one line, its cases selected by marker and by name with IDs in the
transcribe cases' style, the fake engine measured into typed records (a fake that sleeps falls
behind and is saved so; a synthetic one is skipped with the reason), and the fast tier's one
small real run (faster-whisper, tiny.en, a real clip): what it saved, with intervals, and the
session's results table."""

from __future__ import annotations

import dataclasses
import io
import math
import time
from pathlib import Path

import numpy as np
import pytest

from whisperbench.audio import SAMPLE_RATE, AudioClip
from whisperbench.history import load_history
from whisperbench.implementations import ImplementationOptions, TranscriptionResult
from whisperbench.implementations.fake import FakeWhisper, words_from_audio
from whisperbench.results.codec import from_extra_info
from whisperbench.results.metrics import metric, metrics_of
from whisperbench.results.records import FirstWordsResult, Measured, StreamResult
from whisperbench.streaming import ReferenceWord
from whisperbench.suite.cases import (
    Skip,
    SuiteConfig,
    check_stream_settings,
    latency_track_asked,
)
from whisperbench.suite.latency import measure_first_words, measure_stream
from whisperbench.suite.loaded import LoadedModel
from whisperbench.suite.tables import results_tables

REPO = Path(__file__).resolve().parents[2]


# -- options ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chunk_s", "buffer_s", "problem"),
    [
        (0.0, 15.0, "--stream-chunk-s 0.0: give the seconds of audio that arrive"),
        (-1.0, 15.0, "--stream-chunk-s -1.0: give the seconds of audio that arrive"),
        (math.nan, 15.0, "--stream-chunk-s nan: give"),
        (31.0, 31.0, "--stream-chunk-s 31.0: give"),
        (2.0, 1.0, "--stream-buffer-s 1.0: give the seconds of audio the stream keeps"),
        (1.0, 45.0, "--stream-buffer-s 45.0: give"),
    ],
)
def test_bad_stream_settings_are_refused_in_one_line(
    chunk_s: float, buffer_s: float, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem.replace("-", "\\-")) as raised:
        check_stream_settings(chunk_s, buffer_s)
    assert "\n" not in str(raised.value) and "default" in str(raised.value)
    config = SuiteConfig(("tiny.en",), ("fake",), (), ImplementationOptions())
    with pytest.raises(ValueError, match="--stream-"):
        dataclasses.replace(config, stream_chunk_s=chunk_s, stream_buffer_s=buffer_s)


def test_a_zero_chunk_is_a_usage_error_naming_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_latency=(REPO / "benchmarks" / "test_latency.py").read_text())
    result = pytester.runpytest_inprocess(
        "-p",
        "whisperbench.suite.plugin",
        "--implementations=fake",
        "--clips=short",
        "--stream-chunk-s=0",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if "--stream-chunk-s" in line]
    assert len(errors) == 1 and "more than 0" in errors[0], result.stderr.str()


# -- selection and IDs -----------------------------------------------------------------------------


def collected(pytester: pytest.Pytester, *selection: str) -> list[str]:
    for name in ("test_transcribe.py", "test_latency.py"):
        pytester.makepyfile(**{name[:-3]: (REPO / "benchmarks" / name).read_text()})
    result = pytester.runpytest_inprocess(
        "-p",
        "whisperbench.suite.plugin",
        "--implementations=fake",
        "--clips=short,seams",
        "--collect-only",
        "-q",
        "-p",
        "no:cacheprovider",
        *selection,
    )
    return [line for line in result.stdout.lines if "::" in line]


TRACK = [
    "test_latency.py::test_first_words[fake-tiny.en-short]",
    "test_latency.py::test_first_words[fake-tiny.en-seams]",
    "test_latency.py::test_stream[fake-tiny.en-short]",
    "test_latency.py::test_stream[fake-tiny.en-seams]",
]


def test_the_track_runs_by_its_marker_or_its_name(pytester: pytest.Pytester) -> None:
    assert collected(pytester, "-m", "stream") == TRACK
    assert collected(pytester, "-m", "latency") == TRACK
    assert collected(pytester, "-k", "stream") == TRACK
    assert collected(pytester, "test_latency.py") == TRACK  # the file named
    throughput = [
        "test_transcribe.py::test_transcribe[fake-tiny.en-short]",
        "test_transcribe.py::test_transcribe[fake-tiny.en-seams]",
    ]
    assert collected(pytester, "-m", "not stream") == throughput
    assert collected(pytester) == throughput  # a plain run leaves the track out, unasked


def test_the_track_is_asked_for_by_marker_keyword_or_path() -> None:
    assert latency_track_asked("stream", "", [])
    assert latency_track_asked("", "first_words and faster", [])
    assert latency_track_asked("", "", ["benchmarks/test_latency.py::test_stream"])
    assert not latency_track_asked("", "", ["benchmarks/"])
    assert not latency_track_asked("not slow", "transformers", ["benchmarks/test_transcribe.py"])


# -- measured on the fake engine -------------------------------------------------------------------


def fake_loaded(handler: object = None, **options: object) -> LoadedModel:
    engine = FakeWhisper(ImplementationOptions(**options), handler=handler)  # type: ignore[arg-type]
    engine.load(None, engine.get_model_info("tiny.en"))
    return LoadedModel(engine, "tiny.en", "tiny.en", 0.0, 0.0)


def fake_clip(seconds: int) -> tuple[AudioClip, list[ReferenceWord]]:
    """Noise whose words (``words_from_audio``, one per second) are the reference."""
    samples = np.random.default_rng(0).standard_normal(seconds * SAMPLE_RATE).astype(np.float32)
    said = words_from_audio(samples)
    words = [ReferenceWord(s.text, s.start or 0.0, s.end or 0.0) for s in said.segments]
    return AudioClip("noise", Path("noise.wav"), samples, said.text), words


def sleeping(seconds: float):  # type: ignore[no-untyped-def]
    def handler(audio: np.ndarray) -> TranscriptionResult:
        time.sleep(seconds)
        return words_from_audio(audio)

    return handler


def test_a_first_words_case_is_saved_with_its_rounds(stand_in_benchmark: type) -> None:
    benchmark = stand_in_benchmark()
    clip, _ = fake_clip(2)
    measured = measure_first_words(
        benchmark, fake_loaded(sleeping(0.01)), clip, rounds=3, warmup_rounds=1
    )
    result = measured.result
    assert isinstance(result, FirstWordsResult)
    assert len(result.first_round_s) == len(result.full_round_s) == len(result.round_s) == 3
    assert result.first_text_s == result.full_text_s >= 0.01  # the fake answers at the end
    assert result.params.get("first_words_at_end") is True
    saved = from_extra_info(benchmark.extra_info)
    assert saved == result
    assert {m.field for m in metrics_of("first-words") if m.value(None, saved) is not None} >= {
        "first_text_s",
        "full_text_s",
    }


def whole_seconds(sleep_s: float):  # type: ignore[no-untyped-def]
    """A fake that takes ``sleep_s`` per update and says a word for each whole second heard
    only: a partial second's word is a hash of whatever part arrived, and two updates whose
    parts differ could still agree on it by chance (one in ``len(WORDS)``), committing a word
    the finished audio does not say; when updates end depends on the machine's load."""

    def handler(audio: np.ndarray) -> TranscriptionResult:
        time.sleep(sleep_s)
        return words_from_audio(audio[: len(audio) // SAMPLE_RATE * SAMPLE_RATE])

    return handler


@pytest.mark.slow  # waits in real time
def test_a_fake_that_sleeps_falls_behind_and_is_saved_so(stand_in_benchmark: type) -> None:
    clip, words = fake_clip(3)
    fast, slow = (
        measure_stream(
            stand_in_benchmark(), fake_loaded(handler), clip, words, chunk_s=0.25, buffer_s=15.0
        )
        for handler in (whole_seconds(0.0), whole_seconds(0.4))
    )
    for measured in (fast, slow):
        assert isinstance(measured.result, StreamResult)
        assert measured.result.stream_wer == 0.0 and measured.result.offline_wer == 0.0
        assert len(measured.result.delays_s) == 3
    assert fast.result.kept_up == 1.0 and slow.result.kept_up == 0.0  # type: ignore[union-attr]
    p50 = metric("delay_p50_s")
    assert fast.value(p50) is not None and slow.value(p50) is not None  # saved, both
    # behind by its compute, not by a 3-word median delay (one CPU stall can flip that)
    assert (slow.result.stream_rtf or 0.0) > 0.9 > (fast.result.stream_rtf or 1.0)  # type: ignore[union-attr]
    assert slow.result.params.get("stream_chunk_s") == 0.25
    assert slow.result.params.get("stream_buffer_s") == 15.0


def test_an_engine_that_cannot_stream_is_skipped_with_the_reason(
    stand_in_benchmark: type,
) -> None:
    clip, words = fake_clip(2)
    with pytest.raises(Skip, match=r"fake cannot stream: .*synthetic"):
        measure_stream(
            stand_in_benchmark(),
            fake_loaded(synthetic_tokens=8),
            clip,
            words,
            chunk_s=1.0,
            buffer_s=15.0,
        )


# -- the fast tier's one small real run ------------------------------------------------------------


def test_the_real_run_saves_both_cases_with_their_figures(latency_storage: Path) -> None:
    (run,) = load_history(latency_storage).runs
    names = sorted(case.name for case in run.cases)
    assert names == [
        "test_first_words[faster-whisper-tiny.en-fleurs_en-004]",
        "test_stream[faster-whisper-tiny.en-fleurs_en-004]",
    ]
    first = next(c for c in run.cases if c.key.kind == "first-words")
    stream = next(c for c in run.cases if c.key.kind == "stream")
    assert isinstance(first.result, FirstWordsResult) and isinstance(stream.result, StreamResult)
    assert len(first.result.first_round_s) == 2
    assert 0 < (first.result.first_text_s or 0) <= (first.result.full_text_s or 0)
    result = stream.result
    assert result.params.get("stream_chunk_s") == 1.0
    assert result.stream_wer is not None and result.stream_wer < 0.3  # tiny.en on read speech
    assert result.offline_wer is not None and result.offline_wer < 0.3
    assert len(result.delays_s) >= 12  # of 17 reference words
    assert 0 < (result.delay_p50_s or 0) <= (result.delay_p90_s or 0)
    for name in ("delay_mean_s", "delay_p50_s", "delay_p90_s"):
        found = metric(name).interval(result)  # the bootstrap over the words
        value = stream.value(metric(name))
        assert found is not None and value is not None
        assert found.low <= value <= found.high
    assert result.kept_up in (0.0, 1.0) and (result.stream_rtf or 0) > 0
    assert stream.key.clip == "fleurs_en-004" and stream.key.implementation == "faster-whisper"


def test_the_real_run_fills_the_latency_columns_of_the_results_table(
    latency_storage: Path,
) -> None:
    from rich.console import Console

    (run,) = load_history(latency_storage).runs
    rows = [(case.name, Measured(case.result, case.timing)) for case in run.cases]
    tables = results_tables(rows)
    assert [table.title for table in tables] == [
        "whisperbench latency: first words",
        "whisperbench latency: live stream",
    ]
    headers = []
    for table in tables:
        buffer = io.StringIO()
        Console(file=buffer, width=250).print(table)
        lines = buffer.getvalue().splitlines()
        headers.append(next(line for line in lines if "Case" in line))
        (case,) = [line for line in lines if "faster-whisper-tiny.en-fleurs_en-004" in line]
        assert "–" not in case.split("│")[-2]  # its kind's last figure is there
    first, stream = headers
    assert "First words s" in first and "Full text s" in first and "Delay" not in first
    for label in ("Delay p50 s", "Delay p90 s", "Stream RTF", "Kept up", "Stream WER %"):
        assert label in stream
    assert "RTFx" not in stream and "Repeats" not in stream  # no throughput case ran
