"""Corpus speed and accuracy: each timed round transcribes a whole corpus (``--dataset``, or
``--clips corpus``), or one shard of it (``--shards``); corpus WER (Σ errors / Σ reference
words) and RTFx (Σ audio / Σ time)."""

from __future__ import annotations

from typing import Any

import pytest

from whisperbench.results.records import CorpusResult
from whisperbench.suite.cases import CorpusCase, EmptyInput, Skip
from whisperbench.suite.inputs import CorpusLibrary
from whisperbench.suite.measure import measure_corpus
from whisperbench.suite.pool import ModelPool


def test_corpus(
    benchmark: Any,
    model_pool: ModelPool,
    corpus_library: CorpusLibrary,
    suite_config: Any,
    terminal: Any,
    corpus_case: CorpusCase,
    record_result: Any,
) -> None:
    benchmark.group = f"corpus-{corpus_case.dataset}"
    try:
        loaded = model_pool.get(corpus_case.implementation, corpus_case.size)
        corpus = corpus_library.get(corpus_case.dataset, corpus_case.shard)
    except Skip as reason:
        pytest.skip(str(reason))
    except EmptyInput as problem:  # a corpus none of whose items could be read
        pytest.fail(str(problem), pytrace=False)
    measured = measure_corpus(
        benchmark,
        loaded,
        corpus,
        rounds=suite_config.rounds,
        warmup_rounds=suite_config.warmup_rounds,
        batching=corpus_case.batching,
        budget_s=suite_config.corpus_budget_s,
        notify=terminal.notify,
        progress=terminal.progress,
        shard=corpus_case.shard,
        placement=suite_config.placement,
        resource_interval_s=suite_config.resource_interval_s,
    )
    record_result(measured)
    result = measured.result
    assert isinstance(result, CorpusResult)
    assert result.utterances == len(corpus.utterances)
