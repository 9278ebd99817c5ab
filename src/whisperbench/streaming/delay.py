"""Emission delay: for each committed word, the stream time it was committed minus the time
it ends in the audio, the end taken from the reference's forced alignment (``alignment``).

The committed words are matched to reference words through the WER alignment (jiwer, on the
Whisper-normalised words, each word normalised on its own so that it keeps its time): a hit or
a substitution takes its reference word's end. Insertions (committed words with no reference
word) have no time: they are counted (``inserted``) and left out of the statistics; reference
words never committed (deletions) have no emission and are counted too (``missed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from whisperbench.scoring.words import normalize
from whisperbench.streaming.alignment import ReferenceWord
from whisperbench.streaming.clock import Emission


@dataclass(frozen=True)
class DelayStats:
    """Emission delays of one stream, in seconds."""

    delays: tuple[float, ...]
    """One per committed (normalised) word matched to a reference word, in order."""
    inserted: int
    """Committed words matched to no reference word: no delay."""
    missed: int
    """Reference words no committed word matched."""
    at_finish: int
    """Matched words committed only by the end of the stream (``finish``)."""

    @property
    def mean(self) -> float:
        return float(np.mean(self.delays)) if self.delays else float("nan")

    @property
    def p50(self) -> float:
        return float(np.quantile(self.delays, 0.5)) if self.delays else float("nan")

    @property
    def p90(self) -> float:
        return float(np.quantile(self.delays, 0.9)) if self.delays else float("nan")


def _normalised(text: str, language: str | None) -> list[str]:
    return normalize(text, language).split()


def emission_delays(
    emissions: Sequence[Emission],
    reference: Sequence[ReferenceWord],
    language: str | None = "en",
) -> DelayStats:
    """The delays of ``emissions`` against the aligned ``reference``."""
    import jiwer

    hyp = [(w, e) for e in emissions for w in _normalised(e.word.text, language)]
    ref = [(w, r.end) for r in reference for w in _normalised(r.text, language)]
    if not ref:
        raise ValueError("the reference has no words after normalisation: no delays")
    if not hyp:
        return DelayStats((), 0, len(ref), 0)
    out = jiwer.process_words(" ".join(w for w, _ in ref), " ".join(w for w, _ in hyp))
    delays: list[float] = []
    inserted = missed = at_finish = 0
    for chunk in out.alignments[0]:
        if chunk.type in ("equal", "substitute"):
            for i, j in zip(
                range(chunk.ref_start_idx, chunk.ref_end_idx),
                range(chunk.hyp_start_idx, chunk.hyp_end_idx),
                strict=True,
            ):
                emission = hyp[j][1]
                delays.append(emission.emitted_s - ref[i][1])
                at_finish += emission.at_finish
        elif chunk.type == "insert":
            inserted += chunk.hyp_end_idx - chunk.hyp_start_idx
        elif chunk.type == "delete":
            missed += chunk.ref_end_idx - chunk.ref_start_idx
    return DelayStats(tuple(delays), inserted, missed, at_finish)
