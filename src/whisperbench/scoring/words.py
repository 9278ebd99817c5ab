"""Accuracy and speed figures: WER with the Whisper normaliser, repeated word n-grams, RTFx,
peak memory. Each metric's computation lives here; its field, label, unit and direction are
declared in ``results.metrics``, whose declarations call these.

**Numbers in WER.** Both texts go through the Whisper normaliser (``EnglishTextNormalizer``), as
on the Open ASR Leaderboard. It writes numbers as digits and joins spelled-out numbers that
follow each other into one token ("One, two, three" -> ``123``, meant for digit strings such as
"four one five"), while the same numbers written as digits stay apart ("1, 2, 3" -> ``one 2
3``): a counting clip would score a WER of 1000%. ``word_errors`` therefore, after
normalisation, cuts a run of numbers in the transcript that stands where a run of numbers of
the reference stands, but is cut into words differently, as the reference's run is cut
(``regroup_numbers``): the digits are compared, not the normaliser's grouping of them. Nothing
else changes: words and runs grouped alike are compared as the Leaderboard compares them, and
the reference's word count is always the normaliser's.

jiwer and transformers' normaliser are imported on first use, so that reading saved results
(the report, compare, check-regressions) does not pay for them.
"""

from __future__ import annotations

import resource
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any

import numpy as np

from whisperbench.scoring.evidence import UnitErrors, unit_count, unit_of

WER_QUANTILES = (0.5, 0.9, 0.99)
"""The quantiles of the utterances' WERs that a corpus case saves (with the maximum)."""
WORST_UTTERANCES = 10
"""How many of the worst utterances (by WER) a corpus case names."""
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


def has_words(text: str, language: str | None = "en") -> bool:
    """Whether ``text`` holds a word once normalised: a token with a letter or a digit. The
    normaliser keeps a lone ``.`` of an ellipsis (``"... !?!"`` -> ``" ."``), which is no word:
    a reference of nothing else would score every word of a transcript as an insertion."""
    return any(any(char.isalnum() for char in token) for token in normalize(text, language).split())


@dataclass(frozen=True)
class WordErrors:
    wer: float
    substitutions: int
    deletions: int
    insertions: int
    reference_words: int
    regrouped_numbers: int = 0
    """Runs of numbers in the transcript regrouped as the reference's (``regroup_numbers``)."""
    units: tuple[UnitErrors, ...] = ()
    """The same errors per unit of the reference (``evidence``: one unit, or blocks of about
    12 reference words of a long text), in order; they sum to the totals."""


_NUMBER_WORDS = {"one": "1"}
"""The normaliser writes a lone 1 as "one"; in a run of numbers it stands for the digit."""
_RUN_MARK = "#"
"""Marks a run of numbers in ``regroup_numbers`` (the normaliser leaves no ``#`` in a text)."""


def _digits(word: str) -> str | None:
    return word if word.isdigit() else _NUMBER_WORDS.get(word)


def _runs(words: list[str]) -> list[tuple[str, list[str]]]:
    """The words as units: each word alone, but a run of numbers as one unit whose key is
    ``#`` and its digits."""
    units: list[tuple[str, list[str]]] = []
    for word in words:
        digits = _digits(word)
        if digits is None:
            units.append((word, [word]))
        elif units and units[-1][0].startswith(_RUN_MARK):
            key, run = units[-1]
            units[-1] = (key + digits, [*run, word])
        else:
            units.append((_RUN_MARK + digits, [word]))
    return units


def _split_like(reference_run: list[str], digits: str) -> list[str]:
    """``digits`` cut where the reference run's words end, by aligning the two digit strings
    (``difflib``): an inserted digit joins the word before it, a word whose digits are all
    missing is dropped. A word with the digits of the reference's word is written as it is."""
    owner = [index for index, word in enumerate(reference_run) for _ in _digits(word) or ""]
    reference_digits = "".join(_digits(word) or "" for word in reference_run)
    words = [""] * len(reference_run)
    matcher = SequenceMatcher(None, reference_digits, digits, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for offset in range(j2 - j1):
            if tag == "equal":
                at = i1 + offset
            elif i2 > i1:  # replaced: spread over the replaced span
                at = i1 + min(offset, i2 - i1 - 1)
            else:  # inserted: joins the word before
                at = max(i1 - 1, 0)
            words[owner[at]] += digits[j1 + offset]
    return [
        reference_run[index] if word == _digits(reference_run[index]) else word
        for index, word in enumerate(words)
        if word
    ]


def regroup_numbers(reference: list[str], hypothesis: list[str]) -> tuple[list[str], int]:
    """``hypothesis`` (normalised words) with each run of numbers that stands where a run of
    numbers of the reference stands, but is cut into words differently (``123`` against ``one 2
    3``), cut as the reference's run is (``_split_like``); and how many runs were regrouped.
    Runs are paired where the texts agree around them (``difflib``); other words are left as
    they are."""
    ref_units, hyp_units = _runs(reference), _runs(hypothesis)
    matcher = SequenceMatcher(
        None, [k for k, _ in ref_units], [k for k, _ in hyp_units], autojunk=False
    )
    words = [run for _, run in hyp_units]
    regrouped = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag not in ("equal", "replace") or i2 - i1 != j2 - j1:
            continue
        for offset in range(j2 - j1):
            (ref_key, ref_run), (hyp_key, hyp_run) = ref_units[i1 + offset], hyp_units[j1 + offset]
            both_numbers = ref_key.startswith(_RUN_MARK) and hyp_key.startswith(_RUN_MARK)
            if both_numbers and len(ref_run) != len(hyp_run):
                words[j1 + offset] = _split_like(ref_run, hyp_key[len(_RUN_MARK) :])
                regrouped += 1
    return [word for run in words for word in run], regrouped


@lru_cache(maxsize=4096)
def word_errors(reference: str, hypothesis: str, language: str | None = "en") -> WordErrors:
    """WER of ``hypothesis`` against ``reference`` after Whisper normalisation of both, with
    the transcript's runs of numbers regrouped as the reference's where they hold the same
    digits (see the module's docstring). Kept for the last few thousand pairs: a case's record
    and its metric declarations (``results.metrics``) read the same errors, computed once."""
    import jiwer

    ref = normalize(reference, language).split()
    if not has_words(reference, language):
        raise ValueError("the reference transcript is empty after normalisation; WER is undefined")
    hyp, regrouped = regroup_numbers(ref, normalize(hypothesis, language).split())
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    return WordErrors(
        wer=float(out.wer),
        substitutions=out.substitutions,
        deletions=out.deletions,
        insertions=out.insertions,
        reference_words=out.substitutions + out.deletions + out.hits,
        regrouped_numbers=regrouped,
        units=_units(out.alignments[0], len(ref)),
    )


def _units(chunks: Iterable[Any], reference_words: int) -> tuple[UnitErrors, ...]:
    """The alignment's errors per unit of the reference (``evidence.unit_of``): a substitution
    or deletion in its reference word's unit, an insertion in the unit of the reference word
    before it (the first unit at the start)."""
    counts = [[0, 0, 0, 0] for _ in range(unit_count(reference_words))]
    for word in range(reference_words):
        counts[unit_of(word, reference_words)][3] += 1
    slot = {"substitute": 0, "delete": 1}
    for chunk in chunks:
        if chunk.type in slot:
            for word in range(chunk.ref_start_idx, chunk.ref_end_idx):
                counts[unit_of(word, reference_words)][slot[chunk.type]] += 1
        elif chunk.type == "insert":
            before = unit_of(max(chunk.ref_start_idx - 1, 0), reference_words)
            counts[before][2] += chunk.hyp_end_idx - chunk.hyp_start_idx
    return tuple(UnitErrors(*unit) for unit in counts)


@dataclass(frozen=True)
class CorpusErrors:
    """Word errors over a corpus: the totals, and each scored utterance's own WER."""

    substitutions: int
    deletions: int
    insertions: int
    reference_words: int
    utterance_wer: dict[str, float]
    """Each utterance's WER, by id (utterances without a usable reference are not scored)."""
    utterance_units: dict[str, tuple[UnitErrors, ...]] = field(default_factory=dict)
    """Each scored utterance's errors per unit (``WordErrors.units``), by id."""

    @property
    def wer(self) -> float | None:
        """Corpus WER: Σ errors / Σ reference words (None when nothing was scored)."""
        if not self.reference_words:
            return None
        errors = self.substitutions + self.deletions + self.insertions
        return errors / self.reference_words

    def quantiles(self, points: tuple[float, ...] = WER_QUANTILES) -> dict[str, float]:
        """The utterance WERs' quantiles by name (``p50``, ``p90``, ...) and their ``max``."""
        values = list(self.utterance_wer.values())
        if not values:
            return {}
        out = {f"p{100 * q:g}": float(np.quantile(values, q)) for q in points}
        out["max"] = float(max(values))
        return out

    def worst(self, count: int = WORST_UTTERANCES) -> list[tuple[str, float]]:
        """The ``count`` utterances with the highest WER, worst first (ties by id)."""
        ranked = sorted(self.utterance_wer.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:count]


def corpus_word_errors(
    pairs: Iterable[tuple[str, str | None, str]], language: str | None = "en"
) -> CorpusErrors:
    """Word errors over ``(id, reference, hypothesis)`` triples, summed over the utterances
    that have a reference (one that is empty after normalisation scores nothing)."""
    scored = {
        utterance_id: word_errors(reference, hypothesis, language)
        for utterance_id, reference, hypothesis in pairs
        if reference is not None and has_words(reference, language)
    }
    return CorpusErrors(
        substitutions=sum(e.substitutions for e in scored.values()),
        deletions=sum(e.deletions for e in scored.values()),
        insertions=sum(e.insertions for e in scored.values()),
        reference_words=sum(e.reference_words for e in scored.values()),
        utterance_wer={utterance_id: e.wer for utterance_id, e in scored.items()},
        utterance_units={utterance_id: e.units for utterance_id, e in scored.items()},
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
