"""Shards of the committed espeak-ng corpus: shard k of N holds every N-th utterance by id from
the k-th, whatever order the corpus was read in; the shards hold every utterance once; a
sharded case's test ID names its shard."""

from __future__ import annotations

import random

import pytest

from whisperbench.corpus_shards import Shard, shard_corpus, shard_in_id, shards_of
from whisperbench.datasets import FIXTURE_CORPUS_DIR, Corpus, parse_dataset, read_corpus


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return read_corpus(parse_dataset(str(FIXTURE_CORPUS_DIR), limit=24))


def ids(corpus: Corpus) -> list[str]:
    return [utterance.id for utterance in corpus.utterances]


def test_a_shard_holds_every_nth_utterance_by_id(corpus: Corpus) -> None:
    ordered = sorted(ids(corpus))
    first, second, third = (shard_corpus(corpus, shard) for shard in shards_of(3))
    assert ids(first) == ordered[0::3] and ids(second) == ordered[1::3]
    assert ids(third) == ordered[2::3] and len(ids(third)) == 8
    assert ids(first)[:2] == ["1001-10-0000", "1001-10-0003"]
    # the shards hold every utterance exactly once; the rest of the corpus is kept
    assert sorted(ids(first) + ids(second) + ids(third)) == ordered
    assert first.spec == corpus.spec and first.name == corpus.name
    assert first.audio_s + second.audio_s + third.audio_s == pytest.approx(corpus.audio_s)


def test_the_order_is_the_ids_not_the_order_read(corpus: Corpus) -> None:
    """Another file system (or a manifest in another order) lists the files otherwise: the
    shards are the same."""
    shuffled = list(corpus.utterances)
    random.Random(7).shuffle(shuffled)
    assert [u.id for u in shuffled] != ids(corpus)
    other = Corpus(corpus.spec, tuple(shuffled))
    for shard in shards_of(4):
        assert ids(shard_corpus(other, shard)) == ids(shard_corpus(corpus, shard))


def test_shard_labels_and_ids() -> None:
    assert Shard(2, 4).label == "shard2of4"
    assert shard_in_id("benchmarks/test_corpus.py::test_corpus[fake-tiny.en-real-shard2of4]") == (
        Shard(2, 4)
    )
    assert shard_in_id("test_corpus[fake-tiny.en-real]") is None
    assert shard_in_id("test_load[fake-tiny.en]") is None
    assert shard_in_id("test_corpus[x-shard5of4]") is None  # no such shard
    with pytest.raises(ValueError, match="shard 0 of 2: give 1 to 2"):
        Shard(0, 2)
