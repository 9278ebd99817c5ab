"""Accuracy and speed figures: WER with the Whisper normaliser, RTFx, peak memory."""

from __future__ import annotations

import resource
import sys
from dataclasses import dataclass
from functools import lru_cache

import jiwer
from transformers.models.whisper.english_normalizer import (
    BasicTextNormalizer,
    EnglishTextNormalizer,
)


@lru_cache(maxsize=1)
def _english_normalizer() -> EnglishTextNormalizer:
    # The spelling map (british -> american) ships with model repos as normalizer.json;
    # it changes nothing for our American-English references, so it is left empty.
    return EnglishTextNormalizer({})  # type: ignore[no-untyped-call]


@lru_cache(maxsize=1)
def _basic_normalizer() -> BasicTextNormalizer:
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
