"""The two cases of the latency track, as functions the suite calls with a loaded engine:

- ``first_words(engine, samples)``: batch 1, warm; the time to the first text the engine hands
  out and to the whole transcript (``FirstWords``);
- ``run_stream_case(engine, samples, reference, ...)``: a simulated live stream
  (``policy``, ``clock``), its emission delays against the reference's forced alignment
  (``alignment``, ``delay``), and the final committed transcript's WER next to the same
  engine's offline WER (``StreamOutcome``).

Each returns a plain record whose ``figures()`` are the values to save under the fields that
``results.metrics`` declares for the ``first-words`` and ``stream`` kinds, and whose
``params()`` say how they were measured.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from whisperbench.audio import SAMPLE_RATE
from whisperbench.errors import ImplementationUnavailableError
from whisperbench.scoring.words import WordErrors, word_errors
from whisperbench.streaming.alignment import ReferenceAligner, ReferenceWord
from whisperbench.streaming.clock import StreamRun, simulate
from whisperbench.streaming.delay import DelayStats, emission_delays
from whisperbench.streaming.policy import PolicySettings, StreamProcessor

if TYPE_CHECKING:  # types only: the streaming room stands below the engines'
    from whisperbench.implementations.base import FirstText, WhisperImplementation

WARMUP_S = 1.0
"""Seconds of the clip transcribed once before a stream starts (the first call is slower)."""


class StreamingUnsupportedError(ImplementationUnavailableError):
    """An engine that cannot be streamed; the message says why (the case skips with it)."""


@dataclass(frozen=True)
class FirstWords:
    """Time to first words and to the whole transcript, batch 1, warm (medians of rounds)."""

    engine: str
    audio_s: float
    first_rounds: tuple[float, ...]
    full_rounds: tuple[float, ...]
    how: str
    at_end: bool
    """The engine hands out no text before the end: first words = whole transcript."""
    text: str

    @property
    def first_text_s(self) -> float:
        return statistics.median(self.first_rounds)

    @property
    def full_text_s(self) -> float:
        return statistics.median(self.full_rounds)

    def figures(self) -> dict[str, float]:
        return {"first_text_s": self.first_text_s, "full_text_s": self.full_text_s}

    def params(self) -> dict[str, Any]:
        return {
            "first_words": self.how,
            "first_words_at_end": self.at_end,
            "rounds": len(self.first_rounds),
        }


def first_words(
    engine: WhisperImplementation, samples: np.ndarray, rounds: int = 3, warmup: int = 1
) -> FirstWords:
    """``engine.first_text`` on ``samples``: ``warmup`` untimed calls, then ``rounds`` timed."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    for _ in range(warmup):
        engine.first_text(samples)
    return first_words_of(engine, samples, [engine.first_text(samples) for _ in range(rounds)])


def first_words_of(
    engine: WhisperImplementation, samples: np.ndarray, taken: Sequence[FirstText]
) -> FirstWords:
    """The ``FirstWords`` of timed calls of ``engine.first_text`` on ``samples`` (the suite
    times them through pytest-benchmark's rounds)."""
    if not taken:
        raise ValueError("no timed first-words call to report")
    return FirstWords(
        engine=engine.name,
        audio_s=len(samples) / SAMPLE_RATE,
        first_rounds=tuple(t.first_s for t in taken),
        full_rounds=tuple(t.total_s for t in taken),
        how=taken[-1].how,
        at_end=taken[-1].at_end,
        text=taken[-1].result.text,
    )


@dataclass(frozen=True)
class StreamOutcome:
    """One clip streamed through one engine."""

    engine: str
    settings: PolicySettings
    run: StreamRun
    delays: DelayStats
    stream_errors: WordErrors
    offline_errors: WordErrors
    offline_text: str
    timed_words: bool
    """The committed words carried the engine's own word timestamps (else spread over its
    segments; the delays never use them, but buffer trimming does)."""
    takes_prompt: bool

    @property
    def text(self) -> str:
        return self.run.text

    def figures(self) -> dict[str, float]:
        run, delays = self.run, self.delays
        return {
            "delay_mean_s": delays.mean,
            "delay_p50_s": delays.p50,
            "delay_p90_s": delays.p90,
            "stream_rtf": run.processing_rtf,
            "kept_up": float(run.kept_up),
            "stream_wer": self.stream_errors.wer,
            "offline_wer": self.offline_errors.wer,
        }

    def params(self) -> dict[str, Any]:
        run, delays = self.run, self.delays
        return {
            "stream_policy": self.settings.describe(),
            "stream_chunk_s": run.chunk_s,
            "stream_buffer_s": self.settings.buffer_s,
            "stream_clock": "compute-aware (simulated; processing time measured)",
            "stream_prompt": self.takes_prompt,
            "stream_word_times": "engine" if self.timed_words else "spread over segments",
            "stream_updates": len(run.updates),
            "stream_overruns": run.overruns,
            "stream_busy_share": run.busy_share,
            "stream_final_lag_s": run.final_lag_s,
            "stream_forced_words": run.forced_words,
            "delay_words": len(delays.delays),
            "delay_inserted_words": delays.inserted,
            "delay_missed_words": delays.missed,
            "delay_words_at_finish": delays.at_finish,
            "delay_reference": "openai-whisper forced alignment of the reference",
        }


def reference_words_of(
    aligner: ReferenceAligner, samples: np.ndarray, reference: str
) -> list[ReferenceWord]:
    """The reference's words with their times (``ReferenceAligner.align``); compute once per
    clip and pass to every engine's ``run_stream_case``."""
    return aligner.align(samples, reference)


def run_stream_case(
    engine: WhisperImplementation,
    samples: np.ndarray,
    reference: str,
    reference_words: list[ReferenceWord],
    chunk_s: float = 1.0,
    settings: PolicySettings | None = None,
    offline_text: str | None = None,
    language: str | None = "en",
) -> StreamOutcome:
    """Stream ``samples`` through ``engine`` (warm: one call on the first second first) and
    score it. ``offline_text``: the engine's offline transcript of the clip where the suite
    has it; else it is transcribed here. Raises ``StreamingUnsupportedError`` with the reason
    for an engine that cannot stream."""
    reason = engine.streaming_unsupported_reason()
    if reason is not None:
        raise StreamingUnsupportedError(f"{engine.name} cannot stream: {reason}")
    settings = settings or PolicySettings()
    first = engine.transcribe_words(samples[: int(WARMUP_S * SAMPLE_RATE)], None)
    processor = StreamProcessor(engine.transcribe_words, engine.takes_prompt, settings)
    run = simulate(processor, samples, chunk_s)
    words = [e.word for e in run.emissions] or first
    if offline_text is None:
        offline_text = engine.transcribe(samples).text
    return StreamOutcome(
        engine=engine.name,
        settings=settings,
        run=run,
        delays=emission_delays(run.emissions, reference_words, language),
        stream_errors=word_errors(reference, run.text, language),
        offline_errors=word_errors(reference, offline_text, language),
        offline_text=offline_text,
        timed_words=all(w.timed for w in words) if words else True,
        takes_prompt=engine.takes_prompt,
    )
