"""Scoring: what a transcript and a timing are worth (``words``: WER with S/D/I per unit of
speech, repeated word n-grams, RTFx, peak memory) and how sure a comparison of them is
(``evidence``: bootstrap intervals and paired tests). Both stand on numpy and scipy alone, on the
lowest floor: the metric declarations (``results.metrics``) call them. The names of ``words``
are re-exported here."""

from __future__ import annotations

from whisperbench.scoring.words import (
    REPEAT_NGRAM_WORDS,
    WER_QUANTILES,
    WORST_UTTERANCES,
    CorpusErrors,
    WordErrors,
    corpus_word_errors,
    has_words,
    normalize,
    process_peak_rss_bytes,
    regroup_numbers,
    repeated_ngrams,
    rtfx,
    wer,
    word_errors,
    word_ngrams,
)

__all__ = [
    "REPEAT_NGRAM_WORDS",
    "WER_QUANTILES",
    "WORST_UTTERANCES",
    "CorpusErrors",
    "WordErrors",
    "corpus_word_errors",
    "has_words",
    "normalize",
    "process_peak_rss_bytes",
    "regroup_numbers",
    "repeated_ngrams",
    "rtfx",
    "wer",
    "word_errors",
    "word_ngrams",
]
