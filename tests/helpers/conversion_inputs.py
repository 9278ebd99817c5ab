"""What the converter tests feed both the transformers model and a converted one: the first
30 s window of the short reference clip as transformers' log-mel, and a decoder prompt of the
start-of-transcript tokens followed by the transformers model's own greedy tokens."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import WhisperForConditionalGeneration, WhisperProcessor

from whisperbench.audio import fixture_clip_path, load_clip


@dataclass(frozen=True)
class FirstWindow:
    mel: np.ndarray
    """(n_mels, 3000) float32, transformers' log-mel of the first 30 s."""
    prompt: list[int]
    """The start-of-transcript prompt (no timestamps) and the greedy text tokens after it."""
    logits: np.ndarray
    """(len(prompt), n_vocab) float32: the transformers model's logits at every position."""
    text_tokens: list[int]
    """The greedy tokens after the prompt, up to (not including) end-of-text."""


def start_tokens(model: WhisperForConditionalGeneration) -> list[int]:
    """Start of transcript, English and transcribe for a multilingual model, no timestamps."""
    config = model.generation_config
    tokens = [config.decoder_start_token_id]
    if config.is_multilingual:
        tokens += [config.lang_to_id["<|en|>"], config.task_to_id["transcribe"]]
    return [*tokens, config.no_timestamps_token_id]


def first_window(snapshot: Path, clip: str = "short") -> FirstWindow:
    processor = WhisperProcessor.from_pretrained(snapshot)
    model = WhisperForConditionalGeneration.from_pretrained(snapshot).eval()
    audio = load_clip(fixture_clip_path(clip)).samples
    features = processor(audio, sampling_rate=16000, return_tensors="pt").input_features
    start = start_tokens(model)
    eot = model.generation_config.eos_token_id
    with torch.inference_mode():
        generated = model.generate(
            features, decoder_input_ids=torch.tensor([start]), max_new_tokens=96
        )[0].tolist()
        text = [token for token in generated if token < eot]  # without any special tokens
        prompt = start + text
        logits = model(features, decoder_input_ids=torch.tensor([prompt])).logits[0]
    return FirstWindow(
        mel=features[0].numpy(), prompt=prompt, logits=logits.numpy(), text_tokens=text
    )
