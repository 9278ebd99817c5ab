"""Corpus cases without a model: the ``fake`` engine (a real engine that needs no weights)
through ``measure_corpus`` on the committed espeak-ng corpus, into a ``CorpusResult``, a saved
run, the history, the session's lines and the report; the rule that times a long corpus once;
progress; and real pytest sessions of ``benchmarks/`` with ``--dataset`` and ``--clips corpus``."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from helpers.corpus_engines import hearing, loaded
from helpers.suite_sessions import copy_benchmarks, run_suite

from whisperbench.cli import main
from whisperbench.corpus_shards import Shard
from whisperbench.datasets import FIXTURE_CORPUS_DIR, Corpus, parse_dataset, read_corpus
from whisperbench.errors import DatasetError
from whisperbench.history import load_history
from whisperbench.implementations import ImplementationOptions, Progress, TranscriptionResult
from whisperbench.implementations.fake import FakeWhisper
from whisperbench.results import (
    ACROSS_UTTERANCES,
    ONE_BY_ONE,
    CorpusResult,
    from_extra_info,
    to_extra_info,
)
from whisperbench.suite.cases import CorpusCase, EmptyInput, SuiteConfig, corpus_cases
from whisperbench.suite.inputs import CorpusLibrary
from whisperbench.suite.measure import corpus_rounds, measure_corpus, warmup_count
from whisperbench.suite.tables import corpus_lines

if TYPE_CHECKING:
    from conftest import StandInBenchmark


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return read_corpus(parse_dataset(str(FIXTURE_CORPUS_DIR), limit=24))


class BatchingFake(FakeWhisper):
    """The fake engine with a ``transcribe_batch`` of its own: it records the size of each
    batch and reports progress per batch, as a batching engine does."""

    batches_utterances = True

    def __init__(self, options: ImplementationOptions | None = None, handler: Any = None) -> None:
        super().__init__(options, handler)
        self.batches: list[int] = []

    def transcribe_batch(self, audios: Sequence[np.ndarray]) -> list[TranscriptionResult]:
        self.batches.append(len(audios))
        results = []
        for start in range(0, len(audios), self.batch_size or 1):
            results += [self.handler(a) for a in audios[start : start + (self.batch_size or 1)]]
            self.report_progress(len(results), len(audios), "utterances")
        return results


class Shown:
    """A progress display that keeps what it was told (the plugin's draws it)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[int, int, str]]]] = []

    def start(self, label: str) -> Progress:
        events: list[tuple[int, int, str]] = []
        self.calls.append((label, events))
        return lambda done, total, unit: events.append((done, total, unit))

    def stop(self) -> None:
        pass


def test_a_corpus_case_scores_the_whole_corpus(
    corpus: Corpus, stand_in_benchmark: type[StandInBenchmark]
) -> None:
    wrong = {"1001-10-0001": "the kettle", "1001-20-0002": "completely different words here"}
    stutter = "the children counted the boats as they sailed past the lighthouse"
    said = {**wrong, "1001-10-0004": f"{stutter} {stutter}"}
    engine = BatchingFake(ImplementationOptions(device="cpu", batch_size=4), hearing(corpus, said))
    bench = stand_in_benchmark()
    shown = Shown()
    measured = measure_corpus(
        bench, loaded(engine), corpus, rounds=2, warmup_rounds=1, progress=shown
    )
    result = measured.result
    assert isinstance(result, CorpusResult)
    assert (result.dataset, result.dataset_format, result.batching) == (
        "corpus-first24",
        "librispeech",
        ACROSS_UTTERANCES,
    )
    assert result.params.get("batching") == ACROSS_UTTERANCES
    assert result.utterances == result.referenced == 24 and result.skipped == 0
    assert result.audio_s == pytest.approx(corpus.audio_s)
    # the warm-up call on the first 8 utterances, then the whole corpus in each timed round
    assert engine.batches == [warmup_count(24, 4), 24, 24] == [8, 24, 24]
    assert result.warmup_utterances == 8 and result.timed_once is False
    timing = measured.timing
    assert timing is not None and timing.rounds == 2
    assert result.rtfx == pytest.approx(corpus.audio_s / timing.median_s)
    # corpus WER: all errors over all reference words, not a mean of utterance WERs
    errors = result.word_errors
    assert errors is not None
    words = sum(len(u.reference.split()) for u in corpus.utterances if u.reference)
    assert errors.reference_words == words
    total = errors.substitutions + errors.deletions + errors.insertions
    assert result.wer == pytest.approx(total / words) and 0 < total < words
    assert errors.insertions == len(stutter.split())
    # worst first, ties by id: the stuttered one and the wrong one both at 100%
    assert result.worst_utterances[:3] == ("1001-10-0004", "1001-20-0002", "1001-10-0001")
    assert result.worst_wer["1001-20-0002"] == pytest.approx(1.0)
    assert len(result.worst_utterances) == 10
    assert result.wer_quantiles["p50"] == 0.0 and result.wer_quantiles["max"] == pytest.approx(1.0)
    assert result.repeated_ngrams == 4  # the stuttered sentence: four 8-grams said twice
    assert bench.extra_info == to_extra_info(result)
    assert from_extra_info(json.loads(json.dumps(bench.extra_info))) == result
    labels = [label for label, _ in shown.calls]
    assert labels == [
        "warm-up (8 utterances): fake-tiny.en-corpus-first24",
        "round 1/2: fake-tiny.en-corpus-first24",
        "round 2/2: fake-tiny.en-corpus-first24",
    ]
    assert shown.calls[1][1] == [(n, 24, "utterances") for n in range(4, 25, 4)]
    (line,) = corpus_lines([("test_corpus[fake-tiny.en-corpus-first24]", measured)])
    assert line.startswith(
        f"whisperbench: corpus fake-tiny.en-corpus-first24: 24 utterances, "
        f"{corpus.audio_s:.1f} s of audio, across utterances; WER "
    )
    assert "worst: 1001-10-0004 100.0%, 1001-20-0002 100.0%, 1001-10-0001 " in line
    assert line.endswith("; 0 skipped")


def test_one_by_one_transcribes_each_utterance_and_says_so(
    corpus: Corpus, stand_in_benchmark: type[StandInBenchmark]
) -> None:
    engine = BatchingFake(ImplementationOptions(device="cpu", batch_size=4), hearing(corpus, {}))
    shown = Shown()
    measured = measure_corpus(
        stand_in_benchmark(),
        loaded(engine),
        corpus,
        rounds=1,
        warmup_rounds=1,
        batching=ONE_BY_ONE,
        progress=shown,
    )
    result = measured.result
    assert isinstance(result, CorpusResult)
    assert engine.batches == [] and engine.calls == 8 + 24
    assert result.batching == result.params.get("batching") == ONE_BY_ONE
    assert result.subject == "corpus-first24-one-by-one" and result.wer == 0.0
    assert shown.calls[1] == (
        "round 1/1: fake-tiny.en-corpus-first24-one-by-one",
        [(n, 24, "utterances") for n in range(1, 25)],
    )
    # an engine that cannot batch runs one by one in either mode, and the params say so
    plain = FakeWhisper(ImplementationOptions(device="cpu"), hearing(corpus, {}))
    across = measure_corpus(stand_in_benchmark(), loaded(plain), corpus, rounds=1, warmup_rounds=1)
    assert isinstance(across.result, CorpusResult)
    assert across.result.batching == ACROSS_UTTERANCES
    assert across.result.params.get("batching") == ONE_BY_ONE


def test_a_corpus_over_the_budget_is_timed_once_and_the_run_says_so(
    corpus: Corpus, stand_in_benchmark: type[StandInBenchmark]
) -> None:
    engine = BatchingFake(ImplementationOptions(device="cpu", batch_size=2), hearing(corpus, {}))
    said: list[str] = []
    measured = measure_corpus(
        stand_in_benchmark(),
        loaded(engine),
        corpus,
        rounds=3,
        warmup_rounds=2,
        budget_s=0.0,
        notify=said.append,
    )
    assert isinstance(measured.result, CorpusResult) and measured.result.timed_once
    assert measured.timing is not None and measured.timing.rounds == 1
    assert engine.batches == [8, 24]  # the warm-up call, one timed round, nothing else
    (line,) = said
    assert line.startswith("whisperbench: fake-tiny.en-corpus-first24: timed once: a pass over")
    assert "over the 0.0 s budget for 4 passes (--corpus-budget)" in line


def test_the_rounds_rule() -> None:
    # 10 s of audio in 1 s at warm-up: a 600 s corpus takes about 60 s a pass
    fits = corpus_rounds(10.0, 1.0, 600.0, rounds=3, warmup_rounds=2, budget_s=600.0)
    assert (fits.warmup_rounds, fits.rounds, fits.timed_once) == (1, 3, False)
    assert fits.estimate_s == pytest.approx(60.0)
    over = corpus_rounds(10.0, 1.0, 600.0, rounds=10, warmup_rounds=2, budget_s=600.0)
    assert (over.warmup_rounds, over.rounds, over.timed_once) == (0, 1, True)
    assert warmup_count(1000, 64) == 128 and warmup_count(5, 64) == 5 and warmup_count(100, 1) == 8


def test_synthetic_weights_give_no_accuracy_figures(
    corpus: Corpus, stand_in_benchmark: type[StandInBenchmark]
) -> None:
    options = ImplementationOptions(device="cpu", synthetic_tokens=8)
    engine = FakeWhisper(options, hearing(corpus, {"1001-10-0000": "a a a a a a a a a a"}))
    result = measure_corpus(
        stand_in_benchmark(), loaded(engine), corpus, rounds=1, warmup_rounds=1
    ).result
    assert isinstance(result, CorpusResult) and result.weights == "synthetic"
    assert result.wer is None and result.word_errors is None and result.referenced == 0
    assert result.repeated_ngrams is None and result.worst_utterances == ()


def test_the_library_reads_a_corpus_once_and_names_what_it_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    shutil.copytree(FIXTURE_CORPUS_DIR / "1001", folder / "1001")
    (folder / "1001" / "10" / "1001-10-0002.flac").write_bytes(b"")
    broken = tmp_path / "broken"
    (broken / "9" / "9").mkdir(parents=True)
    (broken / "9" / "9" / "9-9.trans.txt").write_text("9-9-0000 NOT AUDIO\n", encoding="utf-8")
    (broken / "9" / "9" / "9-9-0000.flac").write_text("not audio at all\n")
    said: list[str] = []
    specs = {spec.name: spec for spec in (parse_dataset(str(folder)), parse_dataset(str(broken)))}
    library = CorpusLibrary(specs, notify=said.append)
    corpus = library.get("mine")
    assert library.get("mine") is corpus and len(corpus.utterances) == 11
    (line,) = said
    assert line.startswith("whisperbench: corpus mine: 1001-10-0002: skipped: ")
    assert "the file is empty" in line
    # files that look usable before anything runs but do not decode: the case fails
    with pytest.raises(EmptyInput, match=r"corpus broken \(.*\): no readable utterance \(1 item"):
        library.get("broken")
    with pytest.raises(EmptyInput, match="no readable utterance"):
        library.get("broken")  # remembered, not read again


def test_a_corpus_with_no_usable_item_is_refused_before_anything_runs(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "9" / "9").mkdir(parents=True)
    (empty / "9" / "9" / "9-9.trans.txt").write_text("9-9-0000 NO AUDIO\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"--dataset .*empty: no usable utterance: 9-9-0000: no"):
        parse_dataset(str(empty))


def test_cases_per_implementation_model_dataset_and_batching() -> None:
    config = SuiteConfig(
        models=("tiny.en", "base"),
        implementations=("transformers", "faster-whisper"),
        clips=(),
        options=ImplementationOptions(),
        datasets=(parse_dataset(str(FIXTURE_CORPUS_DIR)),),
        corpus_batching=(ACROSS_UTTERANCES, ONE_BY_ONE),
    )
    ids = [case.id for case in corpus_cases(config)]
    assert ids[:4] == [
        "transformers-tiny.en-corpus",
        "transformers-tiny.en-corpus-one-by-one",
        "transformers-base-corpus",
        "transformers-base-corpus-one-by-one",
    ]
    assert len(ids) == 8
    assert CorpusCase("x", "large-v3", "large-v3-synthetic", "test-clean").id == (
        "x-large-v3-synthetic-test-clean"
    )


# -- real pytest sessions of benchmarks/ ---------------------------------------------------------


SLOW_HANDLER = """
import time
from whisperbench.implementations.fake import FakeWhisper, words_from_audio

def slowly(audio):
    time.sleep(0.06)
    return words_from_audio(audio)

FakeWhisper.default_handler = staticmethod(slowly)
"""


def test_a_session_with_a_dataset_runs_one_corpus_case_per_mode(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """``pytest benchmarks/ --dataset FOLDER``: a corpus case per batching mode, no clip cases
    (and none reported as skipped), the skipped item named, the run saved with typed records,
    and ``whisperbench report`` shows the corpus table."""
    copy_benchmarks(pytester)
    folder = tmp_path / "LibriSpeech" / "dev-mini"
    shutil.copytree(FIXTURE_CORPUS_DIR / "1002", folder / "1002")
    (folder / "1002" / "20" / "1002-20-0003.flac").write_bytes(b"broken")
    storage = tmp_path / "storage"
    result = pytester.runpytest_inprocess(
        "-p",
        "whisperbench.suite.plugin",
        "--implementations=fake",
        f"--dataset={folder}",
        "--corpus-batching=across,one-by-one",
        "--rounds=2",
        "--device=cpu",
        f"--benchmark-storage=file://{storage}",
        "--benchmark-autosave",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=3)
    out = result.stdout.str()
    assert "whisperbench: corpus dev-mini: 1002-20-0003: skipped: " in out
    assert "whisperbench: corpus fake-tiny.en-dev-mini: 11 utterances" in out
    assert "whisperbench: corpus fake-tiny.en-dev-mini-one-by-one: 11 utterances" in out
    assert "1 skipped" in out and "skipped" not in out.splitlines()[-1]
    (run,) = load_history(storage).runs
    assert sorted(c.name for c in run.cases) == [
        "test_corpus[fake-tiny.en-dev-mini-one-by-one]",
        "test_corpus[fake-tiny.en-dev-mini]",
        "test_load[fake-tiny.en]",
    ]
    corpora = [c for c in run.cases if isinstance(c.result, CorpusResult)]
    assert {c.key.clip for c in corpora} == {"dev-mini", "dev-mini-one-by-one"}
    assert all(c.result.skipped == 1 and c.result.utterances == 11 for c in corpora)  # type: ignore[union-attr]
    report = tmp_path / "report"
    assert main(["report", "--storage", str(storage), "--output", str(report)]) == 0
    summary = (report / "summary.md").read_text(encoding="utf-8")
    assert "### Corpora" in summary
    row = next(line for line in summary.splitlines() if "| dev-mini-one-by-one |" in line)
    assert "| 11 |" in row and "| one by one |" in row
    page = (report / "index.html").read_text(encoding="utf-8")
    assert "<h3>Corpora</h3>" in page and "WER against RTFx per corpus" in page


@pytest.mark.slow  # waits in real time (a slow fake, over 1 s a run)
@pytest.mark.parametrize(
    ("flags", "shown"),
    [
        ((), False),  # not a terminal: CI logs stay clean
        (("-q", "--progress=always"), True),
    ],
)
def test_progress_of_a_corpus_is_shown_only_where_wanted(
    pytester: pytest.Pytester, flags: tuple[str, ...], shown: bool
) -> None:
    copy_benchmarks(pytester)
    pytester.makeconftest(SLOW_HANDLER)
    started = time.perf_counter()
    result = pytester.runpytest_inprocess(
        "-p",
        "whisperbench.suite.plugin",
        "--implementations=fake",
        "--clips=corpus",
        "--dataset-limit=24",
        "--rounds=1",
        "--device=cpu",
        "--benchmark-disable",
        "-p",
        "no:cacheprovider",
        *flags,
    )
    result.assert_outcomes(passed=2)
    assert time.perf_counter() - started > 1.0
    drawn = [line for line in result.outlines if " utterances 0:00:0" in line]
    if shown:  # one line per redraw (not a terminal), each on a line of its own
        assert drawn and all(line.startswith(("warm-up (8 ", "round 1/1: fake-")) for line in drawn)
        final = [line for line in drawn if line.startswith("round 1/1")][-1]
        assert re.search(r" 24/24 utterances 0:00:0\d ETA 0:00:00$", final), final
    else:
        assert drawn == []


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("--dataset=/nowhere/at/all",), "--dataset /nowhere/at/all: no such file or folder"),
        (("--corpus-batching=sideways",), "--corpus-batching 'sideways': choose from across"),
        (
            ("--dataset=corpus.jsonl", "--clips=corpus"),  # two corpora, one name
            "are both named 'corpus'",
        ),
    ],
)
def test_a_bad_corpus_option_is_a_usage_error(
    pytester: pytest.Pytester, args: tuple[str, ...], problem: str
) -> None:
    copy_benchmarks(pytester)
    clip = (
        Path(__file__).resolve().parents[2]
        / "src"
        / "whisperbench"
        / "data"
        / "audio"
        / "short.flac"
    )
    (pytester.path / "corpus.jsonl").write_text(json.dumps({"audio": str(clip), "text": "a"}))
    result = pytester.runpytest_inprocess(
        "-p", "whisperbench.suite.plugin", "--implementations=fake", *args, "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert problem in result.stderr.str()


HEARING = """
import pytest
from helpers.corpus_engines import hearing
from whisperbench.datasets import FIXTURE_CORPUS_DIR, parse_dataset, read_corpus
from whisperbench.implementations.fake import FakeWhisper

SAID = {"1001-10-0001": "the kettle", "1001-20-0002": "completely different words here"}


@pytest.fixture(autouse=True, scope="session")
def _hearing():
    corpus = read_corpus(parse_dataset(str(FIXTURE_CORPUS_DIR), limit=24))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FakeWhisper, "default_handler", staticmethod(hearing(corpus, SAID)))
        yield
"""


def test_shards_run_in_turn_join_into_the_unsharded_result(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """``--shards 3`` without pytest-xdist: the shards run one after the other in one session,
    saved as one run of three shard cases; read back (and in the session's own summary), they
    join into the unsharded case: its name and key, its WER, and the time of all three."""
    copy_benchmarks(pytester)
    pytester.makeconftest(HEARING)
    common = (
        "--implementations=fake",
        "--clips=corpus",
        "--dataset-limit=24",
        "--rounds=2",
        "--device=cpu",
        "--benchmark-autosave",
    )
    runs = {}
    for shards in (1, 3):
        storage = tmp_path / f"shards-{shards}"
        result = run_suite(
            pytester, *common, f"--shards={shards}", f"--benchmark-storage=file://{storage}"
        )
        result.assert_outcomes(passed=1 + shards)
        (runs[shards],) = load_history(storage).runs
        if shards == 3:
            out = result.stdout.str()
    whole_case = next(c for c in runs[1].cases if c.key.kind == "corpus")
    sharded = runs[3]
    names = [case.name for case in sharded.cases if case.key.kind == "corpus"]
    assert names == [
        "test_corpus[fake-tiny.en-corpus-first24-shard1of3]",
        "test_corpus[fake-tiny.en-corpus-first24-shard2of3]",
        "test_corpus[fake-tiny.en-corpus-first24-shard3of3]",
        whole_case.name,  # joined when read
    ]
    assert sharded.record is not None and sharded.record.complete
    assert len(sharded.record.expected) == 4  # the load and the three shards
    joint = sharded.case(whole_case.key)
    assert joint is not None and joint.name == "test_corpus[fake-tiny.en-corpus-first24]"
    result, whole = joint.result, whole_case.result
    assert isinstance(result, CorpusResult) and isinstance(whole, CorpusResult)
    assert 0 < (whole.wer or 0) < 1 and result.wer == whole.wer
    assert result.unit_errors == whole.unit_errors and result.shards == 3
    shards = [c.result for c in sharded.cases if isinstance(c.result, CorpusResult)][:3]
    assert [(s.shard, s.shard_worker, s.shard_device) for s in shards] == [
        (k, None, None) for k in (1, 2, 3)
    ]
    # in turn: each round of the corpus took all three shards' time
    rounds = [sum(s.round_s[i] for s in shards) for i in range(2)]
    assert result.round_s == pytest.approx(rounds)
    assert result.rtfx == pytest.approx((result.audio_s or 0) / joint.timing.median_s)
    # the session's own summary joins them too, and judges the joined case
    line = f"whisperbench: corpus fake-tiny.en-corpus-first24: 24 utterances, {whole.audio_s:.1f} s"
    assert line in out
    (verdict,) = [v for v in out.splitlines() if v.startswith("whisperbench verdict:")]
    assert f"RTFx {result.rtfx:.1f}," in verdict
    # the report keeps each shard's row beside the joined one
    report = tmp_path / "report"
    storage = str(tmp_path / "shards-3")
    assert main(["report", "--storage", storage, "--output", str(report), "--format", "md"]) == 0
    summary = (report / "summary.md").read_text(encoding="utf-8")
    assert "| fake | tiny.en | corpus-first24 (3 shards joined) | 24 |" in summary
    for k in (1, 2, 3):
        assert f"| fake | tiny.en | corpus-first24-shard{k}of3 (in turn) | 8 |" in summary


def test_a_shard_left_without_an_utterance_fails_with_the_fix(tmp_path: Path) -> None:
    """A corpus whose items looked usable before anything ran (so ``--shards`` passed the check
    against their count) but some of which do not decode: a shard may be left empty; its case
    fails saying how many shards the corpus can take."""
    folder = tmp_path / "mine"
    shutil.copytree(FIXTURE_CORPUS_DIR / "1001" / "10", folder / "1001" / "10")
    for name in ("1001-10-0001", "1001-10-0003", "1001-10-0005"):
        (folder / "1001" / "10" / f"{name}.flac").write_text("not audio at all\n")
    library = CorpusLibrary({"mine": parse_dataset(str(folder))}, notify=lambda line: None)
    shards = [[u.id for u in library.get("mine", Shard(k, 4)).utterances] for k in (1, 2, 3)]
    assert shards == [["1001-10-0000"], ["1001-10-0002"], ["1001-10-0004"]]
    with pytest.raises(EmptyInput) as empty:
        library.get("mine", Shard(4, 4))
    assert str(empty.value) == (
        "corpus mine: shard4of4 holds no utterance: it has 3 readable utterance(s) for 4 "
        "shards; give --shards 3 or fewer"
    )
