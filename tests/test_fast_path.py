"""The fast transformers path against transformers itself: the same windows as the pipeline,
the same log-mel features as the feature extractor, and the same greedy timestamped tokens as
``generate`` (real tiny.en, CPU); plus the int8 option."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from transformers import WhisperForConditionalGeneration, WhisperProcessor
from transformers.pipelines.automatic_speech_recognition import chunk_iter

from whisperbench.audio import SAMPLE_RATE, fixture_clip_path, load_clip
from whisperbench.implementations import ImplementationOptions, create
from whisperbench.implementations.greedy import (
    DecodeRules,
    StaticGreedyDecoder,
    decode_windows,
    prompt_ids,
    split_at_seek,
)
from whisperbench.implementations.transformers_pipeline import INT8_SCOPE
from whisperbench.implementations.windows import HOP_LENGTH, log_mel, plan_windows, window_batch
from whisperbench.metrics import wer
from whisperbench.suite import load_model
from whisperbench.weights import provide

CHUNK, STRIDE = 30 * SAMPLE_RATE, 5 * SAMPLE_RATE


@pytest.fixture(scope="module")
def tiny_folder(offline_hub_cache: Path) -> Path:
    return provide("tiny.en", "transformers", cache_dir=offline_hub_cache)


@pytest.fixture(scope="module")
def processor(tiny_folder: Path) -> Any:
    return WhisperProcessor.from_pretrained(tiny_folder)


@pytest.fixture(scope="module")
def model(tiny_folder: Path) -> Any:
    return WhisperForConditionalGeneration.from_pretrained(
        tiny_folder, attn_implementation="sdpa"
    ).eval()


def test_windows_are_the_pipelines(processor: Any) -> None:
    audio = load_clip(fixture_clip_path("long")).samples
    theirs = [
        item["stride"]
        for item in chunk_iter(audio, processor.feature_extractor, CHUNK, STRIDE, STRIDE)
    ]
    ours = [window.stride for window in plan_windows(len(audio), CHUNK, STRIDE, STRIDE)]
    assert ours == theirs
    assert len(ours) == 16


def test_log_mel_is_the_feature_extractors(processor: Any) -> None:
    audio = load_clip(fixture_clip_path("medium")).samples
    windows = plan_windows(len(audio), CHUNK, STRIDE, STRIDE)
    ours = log_mel(
        window_batch(torch.from_numpy(audio), windows, CHUNK),
        processor.feature_extractor.mel_filters,
    )
    chunks = [audio[w.start : w.start + w.length] for w in windows]
    theirs = processor.feature_extractor(
        chunks, sampling_rate=SAMPLE_RATE, return_tensors="np"
    ).input_features
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.numpy(), theirs, atol=2e-4)


def test_greedy_decoder_gives_generates_tokens(model: Any, processor: Any) -> None:
    """Three windows of the medium clip: every text token equal to ``generate``'s."""
    audio = load_clip(fixture_clip_path("medium")).samples
    windows = plan_windows(len(audio), CHUNK, STRIDE, STRIDE)
    features = log_mel(
        window_batch(torch.from_numpy(audio), windows, CHUNK),
        processor.feature_extractor.mel_filters,
    )
    frames = [w.length // HOP_LENGTH for w in windows]
    mask = torch.zeros((len(windows), features.shape[-1]), dtype=torch.long)
    for row, count in enumerate(frames):
        mask[row, :count] = 1
    config = model.generation_config
    decoder = StaticGreedyDecoder(
        model,
        len(windows),
        prompt_ids(config, None, None),
        210,
        DecodeRules.from_generation_config(config),
    )
    with torch.inference_mode():
        expected = model.generate(
            features, attention_mask=mask, return_timestamps=True, max_new_tokens=210
        )
        ours = decode_windows(
            decoder, lambda batch: model.model.encoder(batch).last_hidden_state, features, frames
        )
    eos = config.eos_token_id
    for theirs_row, ours_row in zip(expected.tolist(), ours, strict=True):
        text_theirs = [t for t in theirs_row if t < eos]
        text_ours = [t for t in ours_row if t < eos]
        assert text_ours == text_theirs
        assert len(text_ours) > 40


def test_seek_rules() -> None:
    rules = DecodeRules(
        eos=50256,
        timestamp_begin=50363,
        no_timestamps=50362,
        max_initial_timestamp_index=50,
        suppress_tokens=(),
        begin_suppress_tokens=(),
    )
    ts = rules.timestamp_begin
    # a lone closing timestamp: the window is done
    assert split_at_seek([ts, 100, 101, ts + 40, 50256], rules) == ([ts, 100, 101, ts + 40], None)
    # a closed segment and an unfinished tail: keep the segment, continue from its end
    assert split_at_seek([ts, 100, ts + 40, ts + 40, 102, 50256], rules) == (
        [ts, 100, ts + 40, ts + 40],
        40,
    )
    # no closed segment at all: keep everything
    assert split_at_seek([ts, 100, 101, 102], rules) == ([ts, 100, 101, 102], None)


def test_int8_on_cpu_is_applied_reported_and_accurate(offline_hub_cache: Path) -> None:
    impl = create(
        "transformers",
        ImplementationOptions(device="cpu", quantization="int8"),
    )
    load_model(impl, "tiny.en", cache_dir=offline_hub_cache)
    clip = load_clip(fixture_clip_path("short"))
    assert clip.reference is not None
    assert wer(clip.reference, impl.transcribe(clip.samples).text) <= 0.25
    params = impl.get_params()
    assert params["quantization"] == INT8_SCOPE
    assert params["quantization_note"] is None
    impl.cleanup()


def test_multilingual_base_detects_english_once_and_transcribes(offline_hub_cache: Path) -> None:
    impl = create(
        "transformers",
        ImplementationOptions(device="cpu"),
    )
    load_model(impl, "base", cache_dir=offline_hub_cache)
    clip = load_clip(fixture_clip_path("short"))
    assert clip.reference is not None
    result = impl.transcribe(clip.samples)
    assert result.language == "en"
    assert wer(clip.reference, result.text) <= 0.25
    params = impl.get_params()
    assert (params["task"], params["language"], params["decoder"]) == (
        "transcribe",
        "en",
        "static greedy",
    )
    impl.cleanup()
