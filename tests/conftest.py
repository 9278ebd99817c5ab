"""Fixtures for every test module here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """One intra-op thread: on a shared 2-core machine, two spinning threads run 4-20x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def openai_whisper_wer(offline_hub_cache: Path) -> Iterator[Callable[[str], float]]:
    """openai-whisper's WER on a reference clip (tiny.en, CPU, greedy), each clip transcribed
    once a session: the yardstick for the other engines' long-form WER."""
    from engine_helpers import clip_wer, loaded

    from whisperbench.implementations.openai_whisper import openai_whisper_missing

    missing = openai_whisper_missing()
    if missing:
        pytest.skip(missing)
    engine = loaded("openai-whisper", offline_hub_cache)
    found: dict[str, float] = {}

    def wer_on(clip_name: str) -> float:
        if clip_name not in found:
            found[clip_name] = clip_wer(engine, clip_name)[0]
        return found[clip_name]

    yield wer_on
    engine.cleanup()
