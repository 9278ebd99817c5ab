"""The suite's plumbing without a model: the ``fake`` engine (a real engine that needs no
weights) through ``ModelPool``, ``measure_load`` and ``measure_transcription`` on the real
reference clips, into ``extra_info``, a saved run, the history, the session's table and the
regression rule. In-process, with pytest-benchmark's ``Stats`` timing real rounds; one real
pytest session (in-process too) runs ``benchmarks/`` on the fake engine end to end."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import soundfile as sf
from rich.console import Console

from whisperbench.audio import load_clip
from whisperbench.errors import ImplementationUnavailableError
from whisperbench.history import load_history
from whisperbench.implementations import REGISTERED, ImplementationOptions, ModelInfo
from whisperbench.implementations.fake import FakeWhisper, saying
from whisperbench.regressions import Limits, check_newest
from whisperbench.results import (
    LoadResult,
    Measured,
    TranscribeResult,
    from_extra_info,
    to_extra_info,
)
from whisperbench.suite.cases import Skip, SuiteConfig, load_cases
from whisperbench.suite.inputs import fixture_clips
from whisperbench.suite.measure import measure_load, measure_transcription
from whisperbench.suite.pool import LoadedModel, ModelPool
from whisperbench.suite.tables import repetition_warnings, results_table

if TYPE_CHECKING:
    from conftest import StandInBenchmark

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 3
WARMUP = 2


@pytest.fixture
def options() -> ImplementationOptions:
    return ImplementationOptions(device="cpu")


@pytest.fixture
def config(options: ImplementationOptions, tmp_path: Path) -> SuiteConfig:
    """CPU, and a cache folder with nothing in it: the fake engine needs no files."""
    return SuiteConfig(
        models=("tiny.en",),
        implementations=("fake",),
        clips=fixture_clips(["short"]),
        options=options,
        rounds=ROUNDS,
        warmup_rounds=WARMUP,
        cache_dir=tmp_path / "empty-hub-cache",
    )


@pytest.fixture
def short() -> Any:
    return load_clip(REPO / "src" / "whisperbench" / "data" / "audio" / "short.flac")


def fake_model(options: ImplementationOptions, text: str) -> LoadedModel:
    engine = FakeWhisper(options, handler=saying(text))
    engine.load(None, engine.get_model_info("tiny.en"))
    return LoadedModel(engine, "tiny.en", "tiny.en", load_s=0.001, peak_rss_after_load_mb=1.0)


def transcribe(model: LoadedModel, clip: Any, bench: StandInBenchmark) -> Measured:
    return measure_transcription(bench, model, clip, rounds=ROUNDS, warmup_rounds=WARMUP)


def test_a_load_case_needs_no_cache_for_the_fake_engine(
    config: SuiteConfig, stand_in_benchmark: Any
) -> None:
    said: list[str] = []
    pool = ModelPool(config, notify=said.append)
    (case,) = load_cases(config)
    bench = stand_in_benchmark()
    measured = measure_load(bench, pool, case)
    result = measured.result
    assert isinstance(result, LoadResult)
    assert result.implementation == "fake" and result.model == "tiny.en"
    assert result.load_s is not None and result.load_s > 0
    assert result.verify_timeout_s == 15.0
    assert result.params.model == "tiny.en" and result.params.device == "cpu"
    assert bench.extra_info == to_extra_info(result)
    assert from_extra_info(json.loads(json.dumps(bench.extra_info))) == result
    assert said == []  # no bundled import, no cache check
    assert not (config.cache_dir or Path("/nonexistent")).exists()
    assert pool.get("fake", "tiny.en").implementation.model_info is not None


def test_a_transcription_case_records_speed_accuracy_and_what_ran(
    options: ImplementationOptions, short: Any, stand_in_benchmark: Any
) -> None:
    assert short.reference is not None
    model = fake_model(options, short.reference)
    bench = stand_in_benchmark()
    measured = transcribe(model, short, bench)
    result = measured.result
    assert isinstance(result, TranscribeResult)
    assert model.implementation.calls == 1 + (WARMUP - 1) + ROUNDS  # type: ignore[attr-defined]
    timing = measured.timing
    assert timing is not None and timing.rounds == ROUNDS
    assert result.rtfx == pytest.approx(short.duration_s / timing.median_s)
    assert result.cold_s is not None and result.cold_s > 0
    assert result.wer == 0.0 and result.reference == "short.txt"
    assert result.word_errors is not None and result.word_errors.reference_words > 20
    assert result.repeated_ngrams == 0
    assert result.transcript == short.reference[:200]
    assert result.params.decoder == "fake (saying)"
    assert result.params.batch_size == 1
    assert set(result.phases_s) == {"handler"}
    assert bench.extra_info == to_extra_info(result)


def test_repeated_text_raises_wer_and_the_repeat_count(
    options: ImplementationOptions, short: Any, stand_in_benchmark: Any
) -> None:
    words = short.reference.split()
    stuttered = " ".join([*words[:12], *words[2:12], *words[12:]])  # 10 words printed twice
    measured = transcribe(fake_model(options, stuttered), short, stand_in_benchmark())
    result = measured.result
    assert isinstance(result, TranscribeResult)
    assert result.word_errors is not None and result.word_errors.insertions == 10
    assert result.repeated_ngrams == 3
    (warning,) = repetition_warnings([("test_transcribe[fake-tiny.en-short]", measured)])
    assert warning == (
        "whisperbench: warning: fake-tiny.en-short: the transcript repeats 3 word 8-gram(s) "
        "(not in the reference): repeated or hallucinated text?"
    )


def test_audio_without_a_transcript_still_gets_a_repetition_count(
    options: ImplementationOptions, tmp_path: Path, stand_in_benchmark: Any
) -> None:
    path = tmp_path / "my-recording.wav"
    sf.write(path, np.zeros(16_000 * 12, dtype=np.float32), 16_000)
    clip = load_clip(path)
    assert clip.reference is None
    engine = FakeWhisper(options)  # words from the audio: 12 equal seconds, 12 equal words
    engine.load(None, engine.get_model_info("tiny.en"))
    model = LoadedModel(engine, "tiny.en", "tiny.en", 0.001, 1.0)
    measured = transcribe(model, clip, stand_in_benchmark())
    result = measured.result
    assert isinstance(result, TranscribeResult)
    assert result.wer is None and result.word_errors is None and result.reference is None
    assert result.repeated_ngrams == 1  # one 8-gram, said 5 times
    (warning,) = repetition_warnings([("test_transcribe[fake-tiny.en-my-recording]", measured)])
    assert "(no reference to check against)" in warning


def test_synthetic_weights_have_no_accuracy_figures(
    short: Any, stand_in_benchmark: Any, tmp_path: Path
) -> None:
    options = ImplementationOptions(device="cpu", synthetic_tokens=96)
    model = fake_model(options, f"{short.reference} {short.reference}")
    result = transcribe(model, short, stand_in_benchmark()).result
    assert isinstance(result, TranscribeResult)
    assert result.weights == "synthetic"
    assert result.wer is None and result.repeated_ngrams is None


def test_with_timing_disabled_the_cold_run_stands_in(
    options: ImplementationOptions, short: Any, stand_in_benchmark: Any
) -> None:
    measured = transcribe(fake_model(options, "hello"), short, stand_in_benchmark(disabled=True))
    assert measured.timing is not None and measured.timing.rounds == 1
    assert measured.result.cold_s == measured.timing.median_s  # type: ignore[union-attr]


def test_saved_runs_read_back_as_the_same_records_and_are_judged(
    options: ImplementationOptions, short: Any, stand_in_benchmark: Any, tmp_path: Path
) -> None:
    """Two runs saved as pytest-benchmark saves them; the second repeats a passage."""
    storage = tmp_path / "storage" / "Linux-CPython-3.11-64bit"
    storage.mkdir(parents=True)
    words = short.reference.split()
    made = {}
    for number, text in ((1, short.reference), (2, " ".join([*words, *words[-9:]]))):
        bench = stand_in_benchmark()
        made[number] = transcribe(fake_model(options, text), short, bench)
        saved = {
            "machine_info": {"machine": "x86_64", "system": "Linux"},
            "commit_info": {"id": f"commit{number}"},
            "datetime": f"2026-11-2{number}T00:00:00+00:00",
            "version": "5.1.0",
            "benchmarks": [bench.saved("test_transcribe[fake-tiny.en-short]")],
        }
        (storage / f"000{number}_run.json").write_text(json.dumps(saved))
    history = load_history(storage.parent)
    assert [run.cases[0].result for run in history.runs] == [made[1].result, made[2].result]
    assert history.runs[0].cases[0].timing == made[1].timing
    report = check_newest(history.runs, Limits(checks=Limits().checks[1:]))  # WER, repeats
    assert report is not None
    assert sorted(f.what for f in report.findings) == ["repeated_ngrams", "wer"]


def test_the_session_table_shows_every_session_metric(
    options: ImplementationOptions, short: Any, stand_in_benchmark: Any
) -> None:
    measured = transcribe(fake_model(options, short.reference), short, stand_in_benchmark())
    buffer = io.StringIO()
    Console(file=buffer, width=200).print(
        results_table([("test_transcribe[fake-tiny.en-short]", measured)])
    )
    text = buffer.getvalue()
    header = next(line for line in text.splitlines() if "Case" in line)
    for column in ("Device", "dtype", "Batch", "Median s", "RTFx", "Cold s", "WER %", "Repeats"):
        assert column in header
    row = next(line for line in text.splitlines() if "fake-tiny.en-short" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells[:4] == ["fake-tiny.en-short", "cpu", "float32", "1"]
    assert "0.0" in cells and "0" in cells  # WER, repeats


def test_a_real_session_of_the_benchmarks_on_the_fake_engine(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """``pytest benchmarks/ --implementations fake --audio`` on a recording without a
    transcript: the cases pass, the run is saved with typed extra_info, the summary table and
    the hallucination warning are printed."""
    for name in ("test_load.py", "test_transcribe.py"):
        pytester.makepyfile(**{name[:-3]: (REPO / "benchmarks" / name).read_text()})
    audio = tmp_path / "silence.wav"
    sf.write(audio, np.zeros(16_000 * 10, dtype=np.float32), 16_000)
    storage = tmp_path / "storage"
    result = pytester.runpytest_inprocess(
        "-p",
        "whisperbench.suite.plugin",
        "--implementations=fake",
        f"--audio={audio}",
        "--rounds=2",
        "--device=cpu",
        f"--benchmark-storage=file://{storage}",
        "--benchmark-autosave",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert "whisperbench results" in out
    assert (
        "whisperbench: warning: fake-tiny.en-silence: the transcript repeats 1 word 8-gram(s) "
        "(no reference to check against)"
    ) in out
    (run,) = load_history(storage).runs
    assert sorted(c.name for c in run.cases) == [
        "test_load[fake-tiny.en]",
        "test_transcribe[fake-tiny.en-silence]",
    ]
    transcribed = next(c.result for c in run.cases if isinstance(c.result, TranscribeResult))
    assert transcribed.repeated_ngrams == 1 and transcribed.params.device == "cpu"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"batch_size": -1}, "--batch-size -1: give a whole number from 1 to 1024"),
        ({"batch_size": 0}, "--batch-size 0: give a whole number from 1 to 1024"),
        ({"batch_size": 1025}, "--batch-size 1025: give a whole number from 1 to 1024"),
        ({"beam_size": 0}, "--beam-size 0: must be at least 1"),
        ({"synthetic_tokens": 0}, "--synthetic-tokens 0: must be at least 1"),
        ({"rounds": 0}, "--rounds 0: must be at least 1"),
        ({"warmup_rounds": -1}, "--warmup-rounds -1: must be at least 0"),
    ],
)
def test_counts_out_of_range_are_refused_with_the_range(
    config: SuiteConfig, change: dict[str, int], message: str
) -> None:
    """Issue 14, case 3: the plugin turns the ValueError into a usage error (exit 4)."""
    import dataclasses

    options = {k: v for k, v in change.items() if k not in ("rounds", "warmup_rounds")}
    counts = {k: v for k, v in change.items() if k in ("rounds", "warmup_rounds")}
    with pytest.raises(ValueError, match=message.replace("-", "\\-")):
        dataclasses.replace(
            config, options=dataclasses.replace(config.options, **options), **counts
        )
    for edge in (1, 1024):
        dataclasses.replace(config, options=dataclasses.replace(config.options, batch_size=edge))


class LoadsElsewhere(FakeWhisper):
    """An engine whose load finds it cannot run as asked, as whisper.cpp does when its load log
    names another device than ``--device mps`` (``whisper_cpp.load_outcome``)."""

    name = "loads-elsewhere"
    loads = 0

    def load(self, snapshot: Path | None, info: ModelInfo) -> None:
        type(self).loads += 1
        raise ImplementationUnavailableError("asked for mps but its load log says it runs on cpu")


def test_the_pool_skips_what_loaded_but_cannot_run(
    config: SuiteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``test_load`` skips with the engine's reason instead of failing, and the model's other
    cases skip with the same reason without loading it again."""
    monkeypatch.setitem(REGISTERED, "loads-elsewhere", f"{__name__}:LoadsElsewhere")
    pool = ModelPool(config, notify=print)
    message = "asked for mps but its load log says it runs on cpu"
    with pytest.raises(Skip, match=message):
        pool.load("loads-elsewhere", "tiny.en")
    with pytest.raises(Skip, match=message):
        pool.get("loads-elsewhere", "tiny.en")
    assert LoadsElsewhere.loads == 1
    assert ("loads-elsewhere", "tiny.en") not in pool.failures
