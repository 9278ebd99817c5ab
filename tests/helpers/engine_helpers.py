"""Loading an engine on real tiny.en weights for a test, through the suite's own path (the
weights package finds the snapshot in the offline cache and converts it on first use)."""

from __future__ import annotations

from pathlib import Path

import pytest

from whisperbench.audio import fixture_clip_path, load_clip
from whisperbench.implementations import (
    ImplementationOptions,
    TranscriptionResult,
    WhisperImplementation,
    create,
    get_implementation,
)
from whisperbench.scoring import wer
from whisperbench.suite.pool import load_model

LONG_FORM_WER_GAP = 0.02
"""An engine's long-form WER may be at most 2 points above openai-whisper's on the same clip."""


def needs(name: str) -> pytest.MarkDecorator:
    """Skip (with the install hint) where the engine's package is not installed."""
    reason = get_implementation(name).unavailable_reason()
    return pytest.mark.skipif(reason is not None, reason=str(reason))


def loaded(name: str, cache: Path, **options: object) -> WhisperImplementation:
    """``name`` on the CPU with tiny.en loaded from ``cache``."""
    impl = create(name, ImplementationOptions(device="cpu", **options))  # type: ignore[arg-type]
    load_model(impl, "tiny.en", cache_dir=cache)
    return impl


def clip_wer(engine: WhisperImplementation, clip_name: str) -> tuple[float, TranscriptionResult]:
    """The engine's WER on a reference clip, and its result."""
    clip = load_clip(fixture_clip_path(clip_name))
    assert clip.reference is not None
    result = engine.transcribe(clip.samples)
    return wer(clip.reference, result.text), result
