"""The suite's results: the typed records (``records``), their codec to and from
pytest-benchmark's ``extra_info`` with ``schema_version`` and the upgrades of older runs
(``codec``), and the declaration of every metric (``metrics``). The names of all three are
re-exported here for code that reads results; the suite's own modules import the one they use."""

from __future__ import annotations

from whisperbench.results.codec import (
    from_extra_info,
    to_extra_info,
)
from whisperbench.results.metrics import (
    COMPARE,
    METRICS,
    REPORT,
    SESSION,
    Judgement,
    Metric,
    Transcribed,
    computed_values,
    corpus_values,
    exported,
    judged,
    metric,
    shown_in,
)
from whisperbench.results.records import (
    ACROSS_UTTERANCES,
    ONE_BY_ONE,
    RESULT_KINDS,
    SPEED_PARAMS,
    CaseRecord,
    CorpusResult,
    LoadResult,
    Measured,
    Params,
    RecordT,
    Result,
    Timing,
    TranscribeResult,
    WordErrorCounts,
    config_changes,
    with_values,
)

__all__ = [
    "ACROSS_UTTERANCES",
    "COMPARE",
    "METRICS",
    "ONE_BY_ONE",
    "REPORT",
    "RESULT_KINDS",
    "SESSION",
    "SPEED_PARAMS",
    "CaseRecord",
    "CorpusResult",
    "Judgement",
    "LoadResult",
    "Measured",
    "Metric",
    "Params",
    "RecordT",
    "Result",
    "Timing",
    "TranscribeResult",
    "Transcribed",
    "WordErrorCounts",
    "computed_values",
    "config_changes",
    "corpus_values",
    "exported",
    "from_extra_info",
    "judged",
    "metric",
    "shown_in",
    "to_extra_info",
    "with_values",
]
