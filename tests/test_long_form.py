"""Long-form accuracy of our fast path against the plain recipe it speeds up, on the same
real tiny.en weights (CPU): never less accurate, never more words invented.

The clips are where the pipeline's overlapping windows and token merge went wrong before our
windows were cut at quiet points: pauses at the window seams (``seams``), rambling speech with
fillers and a long pause (``spontaneous``), and one clip twice in a row (``long`` x2), where
phrases near window edges were printed twice (measured before the change: WER 84.7% against
the recipe's 69.5%, 11.9% against 3.4%, and 14.7% with 65 insertions on the doubled clip
against 10.5% on the clip alone).

On real speech, the twelve long-form readings of ``whisperbench/data/realspeech`` (15.7 min,
188 units of speech, 2338 words): ours is not significantly less accurate than the recipe by
the paired test of their units (measured with pause cuts: 11.25% [9.5, 13.6] with 43
insertions against 12.36% [10.1, 17.6] with 71, -1.1 points [-6.7, +0.4], p=0.39). A per-clip
parity in points would not hold there, nor mean much: on real readings the two differ by
several points on a clip, either way (ours 17.4% against 13.5% on one, 6.5% against 21.0% on
another), on 100-200 words a clip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from whisperbench.audio import AudioClip, fixture_clip_path, load_clip
from whisperbench.datasets import FIXTURE_REALSPEECH_DIR
from whisperbench.implementations import (
    ImplementationOptions,
    WhisperImplementation,
    create,
    get_implementation,
)
from whisperbench.scoring import WordErrors, word_errors, word_ngrams
from whisperbench.scoring.evidence import paired_wer_difference
from whisperbench.suite.pool import load_model

pytestmark = [pytest.mark.slow, pytest.mark.first]  # about 4 minutes on one CPU thread

PARITY_POINTS = 0.2
"""Ours' WER may exceed the recipe's by at most 0.2 percentage points on a clip."""
REPEAT_POINTS = 1.0
"""The same speech twice is transcribed about as well as once."""
OURS, RECIPE, FASTER = "transformers", "transformers-reference", "faster-whisper"
OPENAI, CPP = "openai-whisper", "whisper.cpp"
REAL_READINGS = tuple(
    sorted(
        {
            line.split("\t", 1)[0].removesuffix(".flac")
            for line in (FIXTURE_REALSPEECH_DIR / "LONGFORM_SEGMENTS.tsv")
            .read_text(encoding="utf-8")
            .splitlines()[1:]
        }
    )
)
"""The real long-form readings (66-104 s each): LibriSpeech test-other and LJ Speech."""
ESPEAK_CLIPS = ("short", "medium", "long", "seams", "spontaneous")
"""The reference clips (espeak-ng): 10 s to 329 s."""
TOGETHER = (*ESPEAK_CLIPS, *REAL_READINGS)
"""Transcribed together by each engine, in one ``transcribe_batch``: 1442 s of audio."""


class LoadedEngines(dict[str, WhisperImplementation]):
    """Each engine with real tiny.en on the CPU, loaded when first asked for (openai-whisper
    and whisper.cpp only in the heavy tier)."""

    def __init__(self, cache_dir: Path) -> None:
        super().__init__()
        self.cache_dir = cache_dir

    def __missing__(self, name: str) -> WhisperImplementation:
        impl = create(name, ImplementationOptions(device="cpu"))
        load_model(impl, "tiny.en", cache_dir=self.cache_dir)
        self[name] = impl
        return impl


@pytest.fixture(scope="module")
def engines(offline_hub_cache: Path) -> Iterator[LoadedEngines]:
    loaded = LoadedEngines(offline_hub_cache)
    yield loaded
    for impl in loaded.values():
        impl.cleanup()


def _clip(name: str) -> AudioClip:
    if name in REAL_READINGS:
        return load_clip(FIXTURE_REALSPEECH_DIR / f"{name}.flac")
    if name == "long-x2":
        clip = load_clip(fixture_clip_path("long"))
        assert clip.reference is not None
        return AudioClip(
            name, clip.path, np.tile(clip.samples, 2), f"{clip.reference} {clip.reference}"
        )
    return load_clip(fixture_clip_path(name))


class ErrorsByCase(dict[tuple[str, str], WordErrors]):
    """Word errors per (engine, clip), each clip transcribed once, when first asked for; the
    clips of ``TOGETHER`` are transcribed together, in one ``transcribe_batch`` per engine
    (windows decoded in batches across the clips: on the twelve readings each engine gave the
    same texts as one clip at a time, in about four fifths of the time, ours 52 s against 70 s
    and the recipe 106 s against 124 s on one thread of this 2-core machine)."""

    def __init__(self, engines: LoadedEngines) -> None:
        super().__init__()
        self.engines = engines
        self.texts: dict[tuple[str, str], str] = {}
        """Each case's transcript."""

    def __missing__(self, key: tuple[str, str]) -> WordErrors:
        engine, name = key
        group = TOGETHER if engine in (OURS, RECIPE) else REAL_READINGS
        names = group if name in group else (name,)
        clips = [_clip(each) for each in names]
        if len(clips) == 1:
            texts = [self.engines[engine].transcribe(clips[0].samples).text]
        else:  # the clips together, as a corpus: the same texts (tests/test_batching.py)
            texts = [
                r.text for r in self.engines[engine].transcribe_batch([c.samples for c in clips])
            ]
        for each, clip, text in zip(names, clips, texts, strict=True):
            assert clip.reference is not None
            self.texts[engine, each] = text
            self[engine, each] = word_errors(clip.reference, text)
        return self[key]


@pytest.fixture(scope="module")
def errors(engines: LoadedEngines) -> ErrorsByCase:
    return ErrorsByCase(engines)


@pytest.mark.parametrize("clip", ESPEAK_CLIPS)
def test_ours_is_at_least_as_accurate_as_the_recipe(errors: ErrorsByCase, clip: str) -> None:
    ours, recipe = errors[OURS, clip], errors[RECIPE, clip]
    assert 100 * ours.wer <= 100 * recipe.wer + PARITY_POINTS, (ours, recipe)
    assert ours.insertions <= recipe.insertions, (ours, recipe)


@pytest.mark.heavy
def test_the_same_speech_twice_is_not_repeated(errors: ErrorsByCase) -> None:
    """No phrase is printed twice where the windows of the doubled clip meet: no 8 words in a
    row occur more often in its transcript than twice as often as in the clip's once (the
    same misheard phrase in both halves is no repeat), and about the WER of the clip once.
    (Its insertions are single words split or added inside windows, as on the clip once: 12
    on the doubled clip against 3, measured with pause cuts, e.g. "over lap" for "overlap".)"""
    once, twice = errors[OURS, "long"], errors[OURS, "long-x2"]
    assert 100 * twice.wer <= 100 * once.wer + REPEAT_POINTS, (once, twice)
    in_once = word_ngrams(errors.texts[OURS, "long"], n=8)
    in_twice = word_ngrams(errors.texts[OURS, "long-x2"], n=8)
    printed_again = {run: n for run, n in in_twice.items() if n > 2 * max(1, in_once[run])}
    assert not printed_again, printed_again
    # (The recipe on the doubled clip, 15.3% with 60 insertions against ours' 9.5% with 10, is
    # in the recorded runs, reports/cpu/engines.md: here it would add a minute of CI.)


def test_insertions_over_all_clips_are_no_more_than_the_recipes(
    errors: ErrorsByCase,
) -> None:
    ours = sum(errors[OURS, clip].insertions for clip in ESPEAK_CLIPS)
    recipe = sum(errors[RECIPE, clip].insertions for clip in ESPEAK_CLIPS)
    assert ours <= recipe, (ours, recipe)


@pytest.mark.parametrize(
    "other",
    [
        RECIPE,
        FASTER,
        pytest.param(OPENAI, marks=pytest.mark.heavy),
        pytest.param(CPP, marks=pytest.mark.heavy),
    ],
)
def test_ours_is_not_significantly_less_accurate_than_another_engine_on_real_readings(
    errors: ErrorsByCase, other: str
) -> None:
    """The paired test of the readings' units, against every other engine that runs on the
    CPU from the same weights, so against the most accurate of them (CI: the recipe and
    faster-whisper; the heavy tier adds openai-whisper and whisper.cpp, 102 s and 137 s of CPU
    on the readings). Measured, WER [95%] with insertions, and ours minus theirs in points:
    ours 11.25% [9.5, 13.6] with 43; faster-whisper 11.55% [9.8, 13.7] with 42, -0.3 [-1.1,
    +0.6], p=0.46; whisper.cpp 11.72% [10.0, 14.1] with 49, -0.5 [-1.4, +0.3], p=0.25;
    openai-whisper 12.19% [10.4, 14.7] with 51, -0.9 [-2.0, -0.1], p=0.048; the recipe 12.36%
    [10.1, 17.6] with 71, -1.1 [-6.7, +0.4], p=0.39."""
    unavailable = get_implementation(other).unavailable_reason()
    if unavailable is not None:
        pytest.skip(f"{other} is not installed: {unavailable}")
    assert len(REAL_READINGS) == 12
    ours = [unit for clip in REAL_READINGS for unit in errors[OURS, clip].units]
    theirs = [unit for clip in REAL_READINGS for unit in errors[other, clip].units]
    assert len(ours) == len(theirs) >= 150
    found = paired_wer_difference(theirs, ours)
    assert found is not None and found.low <= found.delta <= found.high, found
    assert not (found.significant and found.delta > 0), found


def test_ours_is_at_least_as_accurate_as_the_recipe_over_the_real_readings(
    errors: ErrorsByCase,
) -> None:
    """Issue 20's rule on real speech: over the twelve readings together, ours' WER is at most
    the recipe's and ours invents no more words (measured with pause cuts: 11.25% with 43
    insertions against 12.36% with 71; with the earlier quiet cuts 11.7% with 49)."""

    def pooled(engine: str) -> tuple[float, int]:
        found = [errors[engine, clip] for clip in REAL_READINGS]
        wrong = sum(e.substitutions + e.deletions + e.insertions for e in found)
        return wrong / sum(e.reference_words for e in found), sum(e.insertions for e in found)

    (ours_wer, ours_inserted), (recipe_wer, recipe_inserted) = pooled(OURS), pooled(RECIPE)
    assert ours_wer <= recipe_wer, (ours_wer, recipe_wer)
    assert ours_inserted <= recipe_inserted, (ours_inserted, recipe_inserted)
