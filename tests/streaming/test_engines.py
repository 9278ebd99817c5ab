"""The latency track on real engines with real tiny.en, on real human speech, on the CPU: the
reference's forced alignment, a simulated live stream through ours, faster-whisper,
openai-whisper and whisper.cpp, and their first-words latency. No engine is mocked.

The clip is LibriSpeech dev-clean 1272-141231-0002 (13.3 s, read speech; see
``fixtures/realspeech/SOURCES.md``): short enough that a stream of it re-transcribes about a
dozen buffers."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from helpers.engine_helpers import loaded, needs

from whisperbench.audio import AudioClip, load_clip
from whisperbench.datasets import FIXTURE_REALSPEECH_DIR
from whisperbench.implementations import WhisperImplementation
from whisperbench.implementations.openai_whisper import openai_whisper_missing
from whisperbench.streaming import (
    ReferenceAligner,
    ReferenceWord,
    StreamOutcome,
    first_words,
    run_stream_case,
)

REALSPEECH = FIXTURE_REALSPEECH_DIR
CLIP = "lsdev_1272-141231-0002"
LONG_CLIP = "ljspeech_LJ001-0008to0019"
"""78.9 s: aligned in three windows."""
ENGINES = ("transformers", "faster-whisper", "openai-whisper", "whisper.cpp")
TIMED = {"transformers": False, "faster-whisper": True, "openai-whisper": True, "whisper.cpp": True}
"""Whether the engine's words carry its own word timestamps."""
WER_MARGIN = 0.10
"""The streamed WER may be at most 10 points above the same engine's offline WER: the policy
re-decodes shorter buffers, which may cost a word or two of a 31-word clip, not more."""
EARLY_S = 0.5
"""How far before the reference says a word ends it may be committed: the alignment's error
(a frame is 20 ms; word boundaries from attention are good to a few frames)."""


@pytest.fixture(scope="module")
def clip() -> AudioClip:
    return load_clip(REALSPEECH / f"{CLIP}.flac")


@pytest.fixture(scope="module")
def openai_engine(offline_hub_cache: Path) -> Iterator[WhisperImplementation]:
    missing = openai_whisper_missing()
    if missing:
        pytest.skip(missing)
    engine = loaded("openai-whisper", offline_hub_cache)
    yield engine
    engine.cleanup()


@pytest.fixture(scope="module")
def aligner(openai_engine: WhisperImplementation) -> ReferenceAligner:
    return ReferenceAligner(openai_engine.model)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def reference_words(aligner: ReferenceAligner, clip: AudioClip) -> list[ReferenceWord]:
    assert clip.reference is not None
    return aligner.align(clip.samples, clip.reference)


def check_alignment(words: list[ReferenceWord], reference: str, duration: float) -> None:
    aligned = "".join(w.text for w in words).lower()
    assert aligned == "".join(reference.split()).lower()  # each word once, in order
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    assert all(w.start <= w.end <= duration + 0.05 for w in words)


def test_the_reference_is_aligned_word_by_word(
    reference_words: list[ReferenceWord], clip: AudioClip
) -> None:
    assert clip.reference is not None
    check_alignment(reference_words, clip.reference, clip.duration_s)
    assert reference_words[0].start < 1.5
    assert reference_words[-1].end > clip.duration_s - 1.5
    # "THE CUT ON HIS CHEST STILL DRIPPING BLOOD": the speaker pauses after "blood".
    blood = reference_words[7]
    assert blood.text.lower().startswith("blood")
    assert reference_words[8].start - blood.end < 1.5


def test_a_clip_longer_than_a_window_is_aligned_window_by_window(
    aligner: ReferenceAligner,
) -> None:
    long = load_clip(REALSPEECH / f"{LONG_CLIP}.flac")
    assert long.reference is not None and long.duration_s > 60
    threads = torch.get_num_threads()
    words = aligner.align(long.samples, long.reference)
    assert torch.get_num_threads() == threads  # numba's OpenMP start does not leak out
    check_alignment(words, long.reference, long.duration_s)
    ends = [w.end for w in words]
    for window in range(int(long.duration_s // 30) + 1):  # words end in every window
        assert any(30 * window <= end < 30 * (window + 1) for end in ends)
    assert ends[-1] > long.duration_s - 5


@pytest.fixture(scope="module")
def engines(
    offline_hub_cache: Path, openai_engine: WhisperImplementation
) -> Iterator[dict[str, WhisperImplementation]]:
    made: dict[str, WhisperImplementation] = {"openai-whisper": openai_engine}
    yield made
    for name, engine in made.items():
        if name != "openai-whisper":
            engine.cleanup()


def engine_named(
    name: str, engines: dict[str, WhisperImplementation], cache: Path
) -> WhisperImplementation:
    if name not in engines:
        engines[name] = loaded(name, cache)
    return engines[name]


def check_stream(outcome: StreamOutcome, name: str, clip: AudioClip) -> None:
    run, delays = outcome.run, outcome.delays
    # The final committed transcript is as good as the engine's offline one, within a margin.
    assert outcome.stream_errors.wer <= outcome.offline_errors.wer + WER_MARGIN, outcome.text
    assert outcome.stream_errors.wer < 0.35, outcome.text
    # Every committed word came after its audio: delays positive (to the alignment's error)
    # and finite; most committed words are matched to reference words.
    assert delays.delays and all(math.isfinite(d) for d in delays.delays)
    assert min(delays.delays) > -EARLY_S
    assert 0 < delays.p50 <= delays.p90 <= max(delays.delays)
    assert len(delays.delays) >= 0.8 * outcome.stream_errors.reference_words
    assert delays.inserted <= outcome.stream_errors.insertions + outcome.stream_errors.substitutions
    # No word is emitted before the stream has it, or after the last update.
    assert all(1.0 <= e.emitted_s <= run.end_s + 1e-9 for e in run.emissions)
    # The clock: one update per chunk at most; kept up means most updates fit in a chunk,
    # and an engine that kept up was idle some of the time.
    assert 1 <= len(run.updates) <= math.ceil(clip.duration_s / run.chunk_s)
    assert run.kept_up == (run.overruns <= len(run.updates) / 2)
    if run.kept_up:
        assert run.busy_share < 1.0
    else:
        assert run.busy_share > 0.5
    assert run.processing_rtf == pytest.approx(run.compute_s / clip.duration_s)
    assert outcome.timed_words is TIMED[name]
    assert run.forced_words == 0


@pytest.mark.parametrize("name", [pytest.param(n, marks=needs(n)) for n in ENGINES])
def test_a_real_engine_streams_real_speech(
    name: str,
    offline_hub_cache: Path,
    engines: dict[str, WhisperImplementation],
    clip: AudioClip,
    reference_words: list[ReferenceWord],
) -> None:
    engine = engine_named(name, engines, offline_hub_cache)
    assert clip.reference is not None
    outcome = run_stream_case(engine, clip.samples, clip.reference, reference_words)
    check_stream(outcome, name, clip)
    figures = outcome.figures()
    assert figures["kept_up"] in (0.0, 1.0)
    assert figures["stream_wer"] == outcome.stream_errors.wer


AT_END = {
    "transformers": False,
    "faster-whisper": False,
    "openai-whisper": True,
    "whisper.cpp": False,
}


@pytest.mark.parametrize("name", [pytest.param(n, marks=needs(n)) for n in ENGINES])
def test_first_words_of_a_real_engine(
    name: str,
    offline_hub_cache: Path,
    engines: dict[str, WhisperImplementation],
    clip: AudioClip,
) -> None:
    engine = engine_named(name, engines, offline_hub_cache)
    result = first_words(engine, clip.samples, rounds=1)
    assert result.at_end is AT_END[name]
    assert 0 < result.first_text_s <= result.full_text_s
    if result.at_end:
        assert result.first_text_s == result.full_text_s
    assert "blood" in result.text.lower()
