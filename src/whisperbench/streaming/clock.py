"""A simulated live clock, compute-aware: audio arrives in real time, the engine's processing
takes the time it really takes.

The stream starts at 0. Audio arrives in chunks of ``chunk_s``: an update starts once a whole
chunk has arrived since the last update began (or the audio has ended), and it is given all the
audio that has arrived by then. While it runs, the clock moves by its measured wall time; when
it ends, the words it committed are emitted at that time. An update that takes longer than a
chunk finds more than a chunk waiting when it ends, and the next update starts at once on all
of it (whisper_streaming's default, computationally aware simulation). No time is slept: the
waits are added to the clock, so a run costs only its processing.

**Kept up.** The engine kept up with real time when it was ready for most chunks as they came:
at most half of its updates took longer than a chunk (``overrun_share`` at most 0.5). In this
simulation an engine slower than real time never falls behind by more than one update; it makes
fewer, larger updates instead, each committing later, so the emission delay grows. Its
``processing_rtf`` (busy seconds over audio seconds) then nears or passes 1, while an engine that
keeps up spends less time busy than the audio lasts (``busy_share`` < 1).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from whisperbench.audio import SAMPLE_RATE
from whisperbench.streaming.policy import StreamProcessor

if TYPE_CHECKING:  # types only: the streaming room stands below the engines'
    from whisperbench.implementations.base import Word

KEPT_UP_OVERRUN_SHARE = 0.5
"""An engine kept up when at most this share of its updates took longer than a chunk."""


@dataclass(frozen=True)
class Emission:
    """A committed word and the stream time at which it was committed."""

    word: Word
    emitted_s: float
    at_finish: bool = False
    """Committed by the end of the stream (``finish``), not by agreement."""


@dataclass(frozen=True)
class Update:
    """One update on the clock."""

    started_s: float
    ended_s: float
    received_s: float
    """Audio that had arrived when it started (the buffer ends there)."""
    buffer_s: float
    compute_s: float
    committed: int


@dataclass(frozen=True)
class StreamRun:
    """A whole simulated stream."""

    audio_s: float
    chunk_s: float
    updates: tuple[Update, ...]
    emissions: tuple[Emission, ...]
    forced_words: int
    """Words committed without agreement when the buffer passed one window."""

    @property
    def text(self) -> str:
        """The final committed transcript."""
        return " ".join(e.word.text for e in self.emissions)

    @property
    def compute_s(self) -> float:
        return sum(u.compute_s for u in self.updates)

    @property
    def processing_rtf(self) -> float:
        """Seconds of processing per second of audio (all updates together)."""
        return self.compute_s / self.audio_s if self.audio_s else float("nan")

    @property
    def end_s(self) -> float:
        """When the last update ended (the final transcript was out)."""
        return self.updates[-1].ended_s if self.updates else 0.0

    @property
    def busy_share(self) -> float:
        """Processing seconds over the stream's length (the audio, or longer when the last
        update ended after it)."""
        span = max(self.audio_s, self.end_s)
        return self.compute_s / span if span else float("nan")

    @property
    def overruns(self) -> int:
        """Updates that took longer than a chunk."""
        return sum(u.compute_s > self.chunk_s for u in self.updates)

    @property
    def overrun_share(self) -> float:
        return self.overruns / len(self.updates) if self.updates else float("nan")

    @property
    def kept_up(self) -> bool:
        return bool(self.updates) and self.overrun_share <= KEPT_UP_OVERRUN_SHARE

    @property
    def median_update_s(self) -> float:
        return statistics.median(u.compute_s for u in self.updates) if self.updates else 0.0

    @property
    def final_lag_s(self) -> float:
        """How long after the audio ended the final transcript was out."""
        return max(0.0, self.end_s - self.audio_s)


def simulate(
    processor: StreamProcessor,
    samples: np.ndarray,
    chunk_s: float = 1.0,
    timer: Callable[[], float] = time.perf_counter,
) -> StreamRun:
    """Stream ``samples`` through ``processor`` on the compute-aware clock."""
    if chunk_s <= 0:
        raise ValueError(f"chunk_s must be positive, got {chunk_s}")
    duration = len(samples) / SAMPLE_RATE
    now = received = 0.0
    updates: list[Update] = []
    emissions: list[Emission] = []
    while received < duration:
        now = max(now, min(received + chunk_s, duration))  # wait for the next chunk
        arrived = min(now, duration)
        processor.insert(samples[round(received * SAMPLE_RATE) : round(arrived * SAMPLE_RATE)])
        received = arrived
        start = timer()
        step = processor.process()
        spent = timer() - start
        started, now = now, now + spent
        committed = (*step.forced, *step.committed)
        emissions += [Emission(word, now) for word in committed]
        updates.append(Update(started, now, received, step.buffer_s, spent, len(committed)))
    emissions += [Emission(word, now, at_finish=True) for word in processor.finish()]
    return StreamRun(duration, chunk_s, tuple(updates), tuple(emissions), processor.forced)
