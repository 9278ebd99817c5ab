"""Accuracy and speed figures: WER with the Whisper normaliser, repeated word n-grams, RTFx,
peak memory. Each metric's computation lives here; its field, label, unit and direction are
declared in ``results.py``.

jiwer and transformers' normaliser are imported on first use, so that reading saved results
(the report, compare, check-regressions) does not pay for them.
"""

from __future__ import annotations

import resource
import sys
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

REPEAT_NGRAM_WORDS = 8
"""Word n-grams of this length that a transcript holds twice are counted by
``repeated_ngrams``: long enough that ordinary speech rarely repeats one by chance."""


@lru_cache(maxsize=1)
def _english_normalizer() -> Any:
    from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

    # The spelling map (british -> american) ships with model repos as normalizer.json;
    # it changes nothing for our American-English references, so it is left empty.
    return EnglishTextNormalizer({})  # type: ignore[no-untyped-call]


@lru_cache(maxsize=1)
def _basic_normalizer() -> Any:
    from transformers.models.whisper.english_normalizer import BasicTextNormalizer

    return BasicTextNormalizer()


def normalize(text: str, language: str | None = "en") -> str:
    """The Whisper normaliser: English rules for English, the basic one otherwise."""
    if language in (None, "en", "english"):
        return str(_english_normalizer()(text))
    return str(_basic_normalizer()(text))


@dataclass(frozen=True)
class WordErrors:
    wer: float
    substitutions: int
    deletions: int
    insertions: int
    reference_words: int


def word_errors(reference: str, hypothesis: str, language: str | None = "en") -> WordErrors:
    """WER of ``hypothesis`` against ``reference`` after Whisper normalisation of both."""
    import jiwer

    ref = normalize(reference, language)
    hyp = normalize(hypothesis, language)
    if not ref.split():
        raise ValueError("the reference transcript is empty after normalisation; WER is undefined")
    out = jiwer.process_words(ref, hyp if hyp.split() else "")
    return WordErrors(
        wer=float(out.wer),
        substitutions=out.substitutions,
        deletions=out.deletions,
        insertions=out.insertions,
        reference_words=out.substitutions + out.deletions + out.hits,
    )


def wer(reference: str, hypothesis: str, language: str | None = "en") -> float:
    return word_errors(reference, hypothesis, language).wer


def word_ngrams(
    text: str, n: int = REPEAT_NGRAM_WORDS, language: str | None = "en"
) -> Counter[tuple[str, ...]]:
    """How often each word n-gram occurs in ``text`` after Whisper normalisation."""
    words = normalize(text, language).split()
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def repeated_ngrams(
    transcript: str,
    reference: str | None = None,
    *,
    n: int = REPEAT_NGRAM_WORDS,
    language: str | None = "en",
) -> int:
    """The number of distinct word n-grams that occur more than once in ``transcript`` but not
    more than once in ``reference`` (with no reference: simply more than once). A signal of
    text repeated by the decoder (at window seams, or in a loop) that needs no reference.

    Words are normalised as for WER, so case, punctuation and spelled numbers do not hide or
    make a repeat.
    """
    repeats = [gram for gram, count in word_ngrams(transcript, n, language).items() if count > 1]
    if reference is None or not repeats:
        return len(repeats)
    expected = word_ngrams(reference, n, language)
    return sum(1 for gram in repeats if expected[gram] <= 1)


def rtfx(audio_seconds: float, elapsed_seconds: float) -> float:
    """Real-time factor as the Open ASR Leaderboard reports it: audio seconds per wall second."""
    if elapsed_seconds <= 0:
        raise ValueError(f"elapsed time must be positive, got {elapsed_seconds}")
    return audio_seconds / elapsed_seconds


def process_peak_rss_bytes() -> int:
    """The peak resident set size of this process so far."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return int(peak if sys.platform == "darwin" else peak * 1024)
