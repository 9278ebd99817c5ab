"""The typed records and their one serialisation (``to_extra_info`` / ``from_extra_info``): every
recorded run's ``extra_info`` loads into them and survives a round trip; new records too; a
plugin's extra parameters and unknown keys are kept; the metric declarations hold together."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from whisperbench.errors import ResultError
from whisperbench.results import (
    METRICS,
    ONE_BY_ONE,
    RESULT_KINDS,
    SPEED_PARAMS,
    CorpusResult,
    LoadResult,
    Params,
    Timing,
    Transcribed,
    TranscribeResult,
    WordErrorCounts,
    computed_values,
    config_changes,
    corpus_values,
    from_extra_info,
    metric,
    to_extra_info,
    with_values,
)
from whisperbench.results.codec import SCHEMA_VERSION, VERSION_KEY
from whisperbench.results.records import BatchSweepResult, FirstWordsResult, StreamResult


def recorded_extra_infos(files: tuple[Path, ...]) -> list[dict[str, Any]]:
    return [
        bench["extra_info"]
        for path in files
        for bench in json.loads(path.read_text(encoding="utf-8"))["benchmarks"]
    ]


def test_every_recorded_extra_info_loads_into_the_typed_records(
    recorded_files: tuple[Path, ...],
) -> None:
    infos = recorded_extra_infos(recorded_files)
    records = [from_extra_info(info) for info in infos]
    assert len(records) == len(infos) > 80
    kinds = {type(r) for r in records}
    every_kind = {
        LoadResult,
        TranscribeResult,
        CorpusResult,
        FirstWordsResult,
        StreamResult,
        BatchSweepResult,
    }
    assert {LoadResult, TranscribeResult, FirstWordsResult, StreamResult} <= kinds <= every_kind
    for info, record in zip(infos, records, strict=True):
        assert record.kind == info["kind"]
        assert record.implementation == info["implementation"]
        assert record.params.device == info["params"]["device"]
        assert record.params.batch_size == info["params"]["batch_size"]
        if isinstance(record, TranscribeResult):
            assert record.rtfx == info["rtfx"]
            assert record.wer == info["wer"]
            assert record.repeated_ngrams == info.get("repeated_ngrams")  # None before it existed
            if info.get("word_errors"):
                assert record.word_errors == WordErrorCounts(**info["word_errors"])


def test_recorded_records_survive_a_round_trip_through_json(
    recorded_files: tuple[Path, ...],
) -> None:
    for info in recorded_extra_infos(recorded_files):
        record = from_extra_info(info)
        written = json.loads(json.dumps(to_extra_info(record)))
        assert from_extra_info(written) == record
        # every key saved before is written back with its value
        for key, value in info.items():
            if key == "params":
                assert {k: written["params"][k] for k in value} == value
            elif key == VERSION_KEY:  # brought up to date (``codec.UPGRADES``)
                assert written[key] == SCHEMA_VERSION
            else:
                assert written[key] == value, key


def test_a_new_record_round_trips_with_every_field() -> None:
    record = TranscribeResult(
        implementation="transformers",
        model="tiny.en",
        clip="short",
        audio_path="/clips/short.flac",
        audio_s=10.0,
        rtfx=20.0,
        cold_s=0.9,
        cold_rtfx=11.1,
        wer=0.05,
        reference="short.txt",
        word_errors=WordErrorCounts(1, 0, 2, 40),
        repeated_ngrams=3,
        language="en",
        transcript="hello",
        load_s=1.2,
        peak_rss_mb=900.0,
        params=Params(device="cpu", dtype="float32", batch_size=8, extra={"features": "x"}),
        phases_s={"generate": 0.4},
        extra={"from_a_hook": [1, 2]},
    )
    info = to_extra_info(record)
    assert info["kind"] == "transcribe"
    assert info["repeated_ngrams"] == 3
    assert info["params"]["features"] == "x"
    assert info["from_a_hook"] == [1, 2]
    assert from_extra_info(json.loads(json.dumps(info))) == record
    load = LoadResult(implementation="fake", model="base", load_s=0.5, verify_timeout_s=15.0)
    assert from_extra_info(to_extra_info(load)) == load


def test_params_keep_a_plugins_extra_keys_and_values_of_another_type() -> None:
    reported = {
        "device": "cpu",
        "batch_size": "auto",  # not an int: kept as it was
        "cpu_threads": 2,  # faster-whisper's name for threads
        "wraps": "faster-whisper",
    }
    params = Params.from_mapping(reported)
    assert params.device == "cpu"
    assert params.batch_size is None
    assert params.threads == 2
    assert params.get("wraps") == "faster-whisper"
    assert params.get("batch_size") == "auto"  # shown and compared as reported
    mapping = params.to_mapping()
    assert mapping["batch_size"] == "auto"
    assert mapping["wraps"] == "faster-whisper"
    assert Params.from_mapping(mapping) == params


@pytest.mark.parametrize(
    ("info", "problem"),
    [
        (None, "no whisperbench extra_info"),
        (
            {},
            "no whisperbench extra_info "
            "(kind load/transcribe/corpus/first-words/stream/batch-sweep)",
        ),
        ({"kind": "corpus", "implementation": "x", "model": "y"}, "lacks dataset"),
        ({"kind": "benchmark"}, "no whisperbench extra_info"),
        ({"kind": "transcribe", "implementation": "x", "model": "y"}, "lacks clip"),
        ({"kind": "load", "model": "y"}, "lacks implementation"),
    ],
)
def test_what_is_not_a_record_is_said(info: Any, problem: str) -> None:
    with pytest.raises(ResultError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        from_extra_info(info)


def test_unreadable_nested_values_are_kept_as_they_were() -> None:
    info = {
        "kind": "transcribe",
        "implementation": "x",
        "model": "y",
        "clip": "c",
        "word_errors": {"substitutions": "many"},
        "phases_s": {"generate": "fast"},
    }
    record = from_extra_info(info)
    assert record.word_errors is None
    assert record.extra["word_errors"] == {"substitutions": "many"}
    assert to_extra_info(record)["phases_s"] == {"generate": "fast"}


def test_config_changes_name_each_speed_parameter_that_changed() -> None:
    before = Params(device="cuda", dtype="float16", batch_size=64, decoder="static greedy")
    after = Params(device="cuda", dtype="float16", batch_size=24, decoder="static greedy")
    assert config_changes(before, after) == ("batch_size 64 -> 24",)
    assert config_changes(before, before) == ()
    assert config_changes(Params(chunk_length_s=30), Params(chunk_length_s=30.0)) == ()
    assert config_changes(Params(quantization=None), Params(quantization="none")) == ()
    other = Params(device="cuda", dtype="float16", batch_size=64, language="de")
    assert config_changes(before, other) == ("decoder static greedy -> none",)
    language = Params(device="cuda", dtype="float16", batch_size=64, decoder="static greedy")
    assert config_changes(before, dataclasses.replace(language, language="de")) == ()
    for name in SPEED_PARAMS:  # engine, model and clip are the case itself (history.CaseKey)
        changed = Params.from_mapping({**before.to_mapping(), name: "other"})
        assert config_changes(before, changed) == (f"{name} {before.get(name) or 'none'} -> other",)


def test_timing_of_rounds_matches_pytest_benchmarks_stats() -> None:
    from pytest_benchmark.stats import Stats

    rounds = [0.5, 0.7, 0.6, 0.9, 0.55]
    stats = Stats()
    for seconds in rounds:
        stats.update(seconds)
    ours = Timing.of_rounds(rounds)
    theirs = Timing.from_stats(stats.as_dict())
    for name in ("median_s", "min_s", "max_s", "mean_s", "stddev_s", "iqr_s"):
        assert getattr(ours, name) == pytest.approx(getattr(theirs, name)), name
    assert ours.rounds == theirs.rounds == 5
    assert ours.spread_s == pytest.approx(theirs.iqr_s)
    assert Timing.of_rounds([1.0]).spread_s is None


def test_every_declared_metric_names_a_field_that_exists() -> None:
    timing = {f.name for f in fields(Timing)}
    records = {f.name for cls in RESULT_KINDS.values() for f in fields(cls)}
    for declared in METRICS:
        where = timing if declared.source == "timing" else records
        assert declared.field in where, declared.field
    assert len({m.field for m in METRICS}) == len(METRICS)


def test_changes_are_measured_as_each_metric_declares() -> None:
    wer, rtfx, repeats, median = (
        metric("wer"),
        metric("rtfx"),
        metric("repeated_ngrams"),
        metric("median_s"),
    )
    assert wer.change_between(0.10, 0.125) == pytest.approx(2.5)  # points
    assert wer.worsening(0.10, 0.125) == pytest.approx(2.5)
    assert rtfx.change_between(100.0, 80.0) == pytest.approx(-0.2)  # relative
    assert rtfx.worsening(100.0, 80.0) == pytest.approx(0.2)  # bigger is better: a drop
    assert repeats.change_between(2, 5) == 3  # a count
    assert median.worsening(1.0, 0.5) == pytest.approx(-0.5)  # faster: negative
    assert wer.change_between(None, 0.1) is None


def test_repeated_ngrams_is_computed_for_real_text_and_not_for_synthetic_weights() -> None:
    phrase = "the quick brown fox jumps over the lazy dog again"  # 10 words
    seen = Transcribed(
        text=f"{phrase} {phrase}",
        reference=phrase,
        language="en",
        audio_s=10.0,
        median_s=1.0,
        cold_s=2.0,
        synthetic=False,
    )
    assert computed_values(seen) == {
        "rtfx": 10.0,
        "cold_rtfx": 5.0,
        "wer": 1.0,  # ten words inserted
        "repeated_ngrams": 3,
    }
    random_text = Transcribed(**{**seen.__dict__, "synthetic": True})
    assert computed_values(random_text) == {
        "rtfx": 10.0,
        "cold_rtfx": 5.0,
        "wer": None,
        "repeated_ngrams": None,
    }
    record = TranscribeResult(implementation="x", model="y", clip="c")
    assert with_values(record, computed_values(seen)).repeated_ngrams == 3
    assert with_values(record, {"not_declared": 1.5}).extra == {"not_declared": 1.5}


def test_a_corpus_record_round_trips_and_carries_the_shared_metrics() -> None:
    record = CorpusResult(
        implementation="transformers",
        model="tiny.en",
        dataset="test-clean",
        dataset_source="~/LibriSpeech/test-clean",
        dataset_format="librispeech",
        batching=ONE_BY_ONE,
        utterances=2620,
        referenced=2620,
        skipped=1,
        skipped_reasons=("1089-134686-0001: skipped: not readable as audio",),
        audio_s=19452.5,
        rtfx=310.0,
        wer=0.056,
        word_errors=WordErrorCounts(1500, 300, 150, 52576),
        wer_quantiles={"p50": 0.04, "p90": 0.12},
        worst_utterances=("1089-134686-0000", "1188-133604-0012"),
        worst_wer={"1089-134686-0000": 0.9, "1188-133604-0012": 0.8},
        repeated_ngrams=2,
        timed_once=True,
        params=Params(device="cuda", batch_size=64, extra={"batching": ONE_BY_ONE}),
    )
    saved = json.loads(json.dumps(to_extra_info(record)))
    assert saved["kind"] == "corpus" and saved["worst_utterances"][0] == "1089-134686-0000"
    assert saved["word_errors"]["insertions"] == 150 and saved["timed_once"] is True
    assert from_extra_info(saved) == record
    assert record.subject == "test-clean-one-by-one"
    for name in ("wer", "rtfx", "repeated_ngrams", "median_s", "load_s"):
        assert "corpus" in metric(name).kinds, name
    assert metric("cold_s").value(None, record) is None  # a clip's first call only
    assert metric("wer").value(None, record) == 0.056


def test_a_corpus_combines_its_utterances_and_sums_repeats() -> None:
    phrase = "the quick brown fox jumps over the lazy dog again"

    def seen(text: str, synthetic: bool = False) -> Transcribed:
        return Transcribed(text, phrase, "en", 3.0, 1.0, 1.0, synthetic)

    # a phrase twice in one utterance is a repeat; the same phrase in two utterances is not
    utterances = [seen(f"{phrase} {phrase}"), seen(phrase), seen(phrase)]
    assert corpus_values(utterances) == {
        "rtfx": 9.0,  # 9 s of audio in the round's 1 s
        "wer": pytest.approx(10 / 30),  # Σ errors / Σ reference words
        "repeated_ngrams": 3,
    }
    assert corpus_values([seen(phrase, synthetic=True)])["repeated_ngrams"] is None
