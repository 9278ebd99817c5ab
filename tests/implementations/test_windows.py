"""Long-form windows: quiet cuts that cover the audio without gaps or overlap, and the log-mel
features of a batch of windows, equal to the feature extractor's."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from whisperbench.audio import SAMPLE_RATE, fixture_clip_path, load_clip
from whisperbench.implementations.windows import (
    CHUNK_LENGTH_S,
    Piece,
    Window,
    gather,
    log_mel,
    quiet_windows,
    window_batch,
)


def _noise_with_gaps(seconds: float, gaps: list[float]) -> np.ndarray:
    audio = np.random.default_rng(0).normal(0, 0.1, int(seconds * SAMPLE_RATE)).astype(np.float32)
    for at in gaps:
        audio[int(at * SAMPLE_RATE) : int((at + 0.3) * SAMPLE_RATE)] = 0.0
    return audio


def _seconds(window: Window) -> tuple[float, float]:
    return window.start / SAMPLE_RATE, window.end / SAMPLE_RATE


def test_quiet_windows_cut_in_silence_and_cover_everything() -> None:
    audio = _noise_with_gaps(70.0, gaps=[27.0, 53.0])
    windows = quiet_windows(audio)
    assert windows[0].start == 0
    assert windows[-1].end == len(audio)
    for before, after in itertools.pairwise(windows):
        assert before.end == after.start  # no gap, no overlap
    assert all(w.seconds <= CHUNK_LENGTH_S for w in windows)
    assert 27.0 <= _seconds(windows[0])[1] <= 27.3
    assert 53.0 <= _seconds(windows[1])[1] <= 53.3


def test_quiet_windows_short_audio_and_no_stub_tail() -> None:
    audio = _noise_with_gaps(12.0, gaps=[])
    assert quiet_windows(audio) == [Window(0, len(audio))]
    windows = quiet_windows(_noise_with_gaps(30.2, gaps=[29.8]))
    assert windows[-1].seconds >= 1.0


def test_a_cut_falls_in_a_pause_quiet_throughout_not_in_a_gap_with_a_burst() -> None:
    """A 120 ms gap between two words holding a 10 ms burst (a plosive's release) has less
    energy on average than a 150 ms pause with room noise, but it is no pause: the cut goes
    where the loudest 10 ms is the quietest."""
    rng = np.random.default_rng(1)
    audio = rng.normal(0, 0.1, 40 * SAMPLE_RATE).astype(np.float32)
    gap = slice(int(27.0 * SAMPLE_RATE), int(27.12 * SAMPLE_RATE))
    audio[gap] = 0.0
    burst = int(27.055 * SAMPLE_RATE)
    audio[burst : burst + SAMPLE_RATE // 100] = rng.normal(0, 0.05, SAMPLE_RATE // 100)
    pause = slice(int(28.5 * SAMPLE_RATE), int(28.65 * SAMPLE_RATE))
    audio[pause] = rng.normal(0, 0.02, pause.stop - pause.start)
    gap_mean = float(np.mean(audio[int(27.01 * SAMPLE_RATE) : int(27.11 * SAMPLE_RATE)] ** 2))
    assert gap_mean < float(np.mean(audio[pause] ** 2))  # the earlier rule's choice
    (first, _) = quiet_windows(audio)
    assert 28.5 <= _seconds(first)[1] <= 28.65


def test_quiet_windows_of_speech_end_in_its_pauses() -> None:
    """The reference clip's cuts fall where espeak is silent, never inside a word."""
    audio = load_clip(fixture_clip_path("long")).samples
    windows = quiet_windows(audio)
    assert len(windows) == 12  # 329 s in windows of 25-30 s
    frame = SAMPLE_RATE // 20
    for window in windows[:-1]:
        around_cut = audio[window.end - frame : window.end + frame]
        assert float(np.sqrt(np.mean(around_cut**2))) < 0.01


@pytest.mark.slow
def test_log_mel_is_the_feature_extractors(offline_hub_cache: Path) -> None:
    from transformers import WhisperFeatureExtractor

    from whisperbench.weights import provide

    folder = provide("tiny.en", "transformers", cache_dir=offline_hub_cache)
    extractor: Any = WhisperFeatureExtractor.from_pretrained(folder)
    audio = load_clip(fixture_clip_path("medium")).samples
    windows = quiet_windows(audio)
    ours = log_mel(
        window_batch(torch.from_numpy(audio), windows, extractor.n_samples), extractor.mel_filters
    )
    chunks = [audio[w.start : w.end] for w in windows]
    theirs = extractor(chunks, sampling_rate=SAMPLE_RATE, return_tensors="np").input_features
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.numpy(), theirs, atol=2e-4)


def test_gather_sends_each_piece_once_in_order_with_touching_windows_as_one_span() -> None:
    """Windows of one utterance that touch, windows with a gap, a second utterance, and audio
    that is not float32: the samples arrive back to back, each piece at its own offset."""
    rng = np.random.default_rng(1)
    first = rng.normal(0, 0.1, 50_000).astype(np.float32)
    second = rng.normal(0, 0.1, 30_000)  # float64, as numpy gives by default
    pieces = [
        Piece(0, Window(0, 20_000)),
        Piece(0, Window(20_000, 10_000)),  # touches the one before
        Piece(0, Window(35_000, 15_000)),  # after a gap
        Piece(1, Window(0, 30_000)),
        Piece(0, Window(0, 5_000)),  # back to the first utterance
    ]
    wave, windows = gather([first, second], pieces, "cpu")
    expected = np.concatenate(
        [[first, second][p.utterance][p.window.start : p.window.end] for p in pieces]
    ).astype(np.float32)
    assert wave.dtype == torch.float32
    np.testing.assert_array_equal(wave.numpy(), expected)
    assert [w.length for w in windows] == [p.window.length for p in pieces]
    assert [w.start for w in windows] == [0, 20_000, 30_000, 45_000, 75_000]
