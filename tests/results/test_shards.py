"""Shards joined into one corpus result, measured by the ``fake`` engine on the committed
espeak-ng corpus through ``measure_corpus``: the joined case gets the WER, the per-unit errors
(so the interval), the quantiles and the worst utterances of the corpus run whole; its speed is
the total audio over the slowest worker's time; only complete sets are joined."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
from helpers.corpus_engines import hearing, loaded

from whisperbench.corpus_shards import shard_corpus, shards_of
from whisperbench.datasets import FIXTURE_CORPUS_DIR, Corpus, parse_dataset, read_corpus
from whisperbench.implementations import ImplementationOptions
from whisperbench.implementations.fake import FakeWhisper
from whisperbench.results import CorpusResult, metric
from whisperbench.results.records import Timing
from whisperbench.results.shards import joined, wall_rounds
from whisperbench.suite.measure import measure_corpus
from whisperbench.suite.workers import Placement

if TYPE_CHECKING:
    from conftest import StandInBenchmark

WRONG = {"1001-10-0001": "the kettle", "1001-20-0002": "completely different words here"}
STUTTERED = "1001-10-0004"
"""An utterance heard twice over: its 8-grams repeated."""


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return read_corpus(parse_dataset(str(FIXTURE_CORPUS_DIR), limit=24))


def measure(
    corpus: Corpus, stand_in: type[StandInBenchmark], shard_count: int = 1, rounds: int = 2
) -> list[tuple[str, CorpusResult, Timing]]:
    """The whole corpus (``shard_count`` 1) or each of its shards, one worker each, measured
    by an engine that mishears ``WRONG``."""
    said = {u.id: f"{u.reference} {u.reference}" for u in corpus.utterances if u.id == STUTTERED}
    engine = FakeWhisper(ImplementationOptions(device="cpu"), hearing(corpus, {**WRONG, **said}))
    out = []
    shards = shards_of(shard_count) if shard_count > 1 else (None,)
    for shard in shards:
        part = corpus if shard is None else shard_corpus(corpus, shard)
        measured = measure_corpus(
            stand_in(),
            loaded(engine),
            part,
            rounds=rounds,
            warmup_rounds=1,
            shard=shard,
            placement=None if shard is None else Placement(f"gw{shard.index - 1}", "CPU 0"),
        )
        assert isinstance(measured.result, CorpusResult) and measured.timing is not None
        name = f"test_corpus[fake-tiny.en-{measured.result.subject}]"
        out.append((name, measured.result, measured.timing))
    return out


def test_shards_joined_give_the_accuracy_of_the_whole_corpus(
    corpus: Corpus, stand_in_benchmark: type[StandInBenchmark]
) -> None:
    ((_, whole, _),) = measure(corpus, stand_in_benchmark)
    parts = measure(corpus, stand_in_benchmark, shard_count=3)
    assert [name for name, _, _ in parts] == [
        f"test_corpus[fake-tiny.en-corpus-first24-shard{k}of3]" for k in (1, 2, 3)
    ]
    assert [result.shard_worker for _, result, _ in parts] == ["gw0", "gw1", "gw2"]
    (joint,) = joined(parts)
    result = joint.result
    assert joint.name == "test_corpus[fake-tiny.en-corpus-first24]"
    assert result.subject == whole.subject == "corpus-first24"
    assert (result.shard, result.shards, result.shard_worker) == (None, 3, None)
    # pooled errors: the WER, its counts, its evidence and so its interval are the whole's
    assert 0 < (whole.wer or 0) < 1
    assert result.wer == whole.wer and result.word_errors == whole.word_errors
    assert result.unit_errors == whole.unit_errors
    wer = metric("wer")
    assert wer.interval(result) == wer.interval(whole) and wer.interval(result) is not None
    assert result.wer_quantiles == whole.wer_quantiles
    assert result.worst_utterances == whole.worst_utterances
    assert result.worst_wer == whole.worst_wer
    assert result.repeated_ngrams == whole.repeated_ngrams == 4
    assert (result.utterances, result.referenced) == (24, 24)
    assert result.audio_s == pytest.approx(whole.audio_s or 0)
    # each shard keeps its own figures
    assert sum(r.utterances or 0 for _, r, _ in parts) == 24
    assert all(r.wer is not None and r.rtfx for _, r, _ in parts)
    # speed: all the audio over the slowest worker's time, round by round
    rounds = [max(r.round_s[i] for _, r, _ in parts) for i in range(2)]
    assert result.round_s == pytest.approx(rounds)
    assert joint.timing.median_s == pytest.approx(sum(rounds) / 2)
    assert result.rtfx == pytest.approx((result.audio_s or 0) / joint.timing.median_s)


def test_the_wall_time_of_shards_run_in_turn_and_at_once(
    corpus: Corpus, stand_in_benchmark: type[StandInBenchmark]
) -> None:
    first, second = (
        (result, timing) for _, result, timing in measure(corpus, stand_in_benchmark, 2)
    )
    one, two = first[0].round_s, second[0].round_s
    at_once = [max(a, b) for a, b in zip(one, two, strict=True)]
    assert wall_rounds([first, second]) == pytest.approx(at_once)
    # in turn in one process (no worker): a round of the corpus took both shards' time
    in_turn = [(replace(r, shard_worker=None), t) for r, t in (first, second)]
    assert wall_rounds(in_turn) == pytest.approx([a + b for a, b in zip(one, two, strict=True)])
    # two shards in turn on one worker, beside another worker
    third = (replace(second[0], shard=3, shard_worker="gw1"), second[1])
    assert wall_rounds([first, second, third]) == pytest.approx(
        [max(a, b + b) for a, b in zip(one, two, strict=True)]
    )
    # timed in different numbers of rounds: by their medians
    once = (replace(second[0], round_s=(two[0],)), second[1])
    assert wall_rounds([first, once]) == [max(first[1].median_s, second[1].median_s)]


def test_only_a_complete_set_of_shards_is_joined(
    corpus: Corpus, stand_in_benchmark: type[StandInBenchmark]
) -> None:
    parts = measure(corpus, stand_in_benchmark, shard_count=2, rounds=1)
    assert joined(parts[:1]) == []  # shard 2 failed or never ran
    twice = [parts[0], parts[0]]
    assert joined(twice) == []
    other_model = [(n, replace(r, model="base"), t) for n, r, t in parts[1:]]
    assert joined([parts[0], *other_model]) == []
    ((_, whole, timing),) = measure(corpus, stand_in_benchmark, rounds=1)
    assert joined([("test_corpus[fake-tiny.en-corpus-first24]", whole, timing)]) == []
    assert len(joined([*parts, ("untimed", parts[0][1], None)])) == 1
