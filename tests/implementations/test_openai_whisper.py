"""The openai-whisper implementation: its decisions, and real tiny.en weights on the CPU,
converted from the offline transformers snapshot on first use."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from helpers.engine_helpers import clip_wer, loaded, needs

from whisperbench.implementations import ImplementationOptions, WhisperImplementation, create
from whisperbench.implementations.base import ModelInfo
from whisperbench.implementations.openai_style import transcribe_kwargs
from whisperbench.implementations.openai_whisper import (
    OpenAIWhisper,
    compute_dtype,
    openai_whisper_missing,
)

LONG_WER_MAX = 0.15
"""Measured 0.116 (tiny.en, greedy, sequential seek; the transformers fast path: 0.099)."""
EN = ModelInfo("tiny.en", "openai-whisper", "openai", "openai/whisper-tiny.en", 15.0, True)
MULTI = ModelInfo("base", "openai-whisper", "openai", "openai/whisper-base", 15.0, False)


# -- decisions (no model) ---------------------------------------------------------------------


def test_the_comparable_settings() -> None:
    kwargs = transcribe_kwargs(EN, ImplementationOptions())
    assert kwargs["temperature"] == 0.0  # one temperature: no fallback to sampling
    assert kwargs["compression_ratio_threshold"] is None
    assert kwargs["logprob_threshold"] is None
    assert kwargs["no_speech_threshold"] is None
    assert kwargs["condition_on_previous_text"] is False
    assert (kwargs["language"], kwargs["beam_size"]) == ("en", None)
    multi = transcribe_kwargs(MULTI, ImplementationOptions(beam_size=3, language="de"))
    assert (multi["language"], multi["task"], multi["beam_size"]) == ("de", "transcribe", 3)
    assert transcribe_kwargs(MULTI, ImplementationOptions())["language"] is None  # detected


def test_dtype_float32_on_the_cpu_float16_on_gpus() -> None:
    assert compute_dtype("cpu", None) == (torch.float32, None)
    assert compute_dtype("cuda", None) == (torch.float16, None)
    assert compute_dtype("mps", None) == (torch.float16, None)
    dtype, note = compute_dtype("cpu", "float16")
    assert dtype == torch.float32 and note is not None and "CPU" in note
    dtype, note = compute_dtype("cuda", "bf16")
    assert dtype == torch.float32 and note is not None and "bfloat16" in note


def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def absent(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", absent)
    reason = openai_whisper_missing()
    assert reason is not None and "pip install" in reason and "openai-whisper" in reason
    assert OpenAIWhisper.unavailable_reason() == reason


# -- real weights, CPU, offline ----------------------------------------------------------------


@pytest.fixture(scope="module")
def openai_tiny(offline_hub_cache: Path) -> Iterator[WhisperImplementation]:
    impl = loaded("openai-whisper", offline_hub_cache, batch_size=4, vad=True)
    yield impl
    impl.cleanup()


@pytest.mark.slow
@needs("openai-whisper")
def test_short_clip_word_for_word(openai_tiny: WhisperImplementation) -> None:
    error, result = clip_wer(openai_tiny, "short")
    assert error == 0.0, result.text
    assert result.language == "en"
    assert [segment.start for segment in result.segments] == sorted(
        segment.start for segment in result.segments
    )


@pytest.mark.heavy
@pytest.mark.slow
@needs("openai-whisper")
def test_long_clip_sequential_seek(openai_whisper_wer: Callable[[str], float]) -> None:
    assert openai_whisper_wer("long") <= LONG_WER_MAX


@pytest.mark.slow
@needs("openai-whisper")
def test_params_report_what_runs(openai_tiny: WhisperImplementation) -> None:
    params = openai_tiny.get_params()
    assert (params["device"], params["dtype"], params["weights_dtype"]) == (
        "cpu",
        "float32",
        "float32",
    )
    assert (params["batch_size"], params["beam_size"], params["decoder"]) == (1, 1, "greedy")
    assert params["threads"] == torch.get_num_threads()
    assert params["repo_id"] == "openai/whisper-tiny.en"
    assert params["attention"] in ("sdpa", "eager")
    assert (params["temperature"], params["condition_on_previous_text"]) == (0.0, False)
    assert params["vad"] is False and "voice-activity" in params["vad_note"]
    assert "--batch-size 4" in params["batch_size_note"]
    assert params["quantization_note"] is None


@pytest.mark.slow
@needs("openai-whisper")
def test_beam_search_is_what_runs(offline_hub_cache: Path) -> None:
    impl = loaded("openai-whisper", offline_hub_cache, beam_size=2)
    assert clip_wer(impl, "short")[0] == 0.0
    params = impl.get_params()
    assert (params["beam_size"], params["decoder"]) == (2, "beam search (2)")
    impl.cleanup()


@needs("openai-whisper")
def test_cuda_is_refused_clearly_without_a_gpu() -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(Exception, match="cuda"):
        create("openai-whisper", ImplementationOptions(device="cuda"))
