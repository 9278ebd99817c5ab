"""Synthetic weights: the real architecture of a size from the model map with random weights,
for speed-only runs of models whose weights are not on the machine (no WER)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from whisperbench.models import get_model

if TYPE_CHECKING:
    import torch

SYNTHETIC_SUFFIX = "-synthetic"
DEFAULT_SYNTHETIC_TOKENS = 96
"""Tokens decoded per 30 s window: about the rate of English speech."""


def synthetic_label(size: str) -> str:
    """How a synthetic run of ``size`` is named in test IDs and reports."""
    return f"{size}{SYNTHETIC_SUFFIX}"


TOKENIZER_DONOR = "tiny.en"
"""The size whose tokenizer and generation config every synthetic run borrows: the bundled
default, so that synthetic runs need no download. Every size then decodes with the
English-only prompt (two tokens shorter than a multilingual one: immaterial for speed)."""


def synthetic_config(size: str) -> Any:
    from transformers import WhisperConfig

    arch = get_model(size).architecture
    return WhisperConfig(
        vocab_size=arch.vocab_size,
        num_mel_bins=arch.num_mel_bins,
        d_model=arch.d_model,
        encoder_layers=arch.encoder_layers,
        decoder_layers=arch.decoder_layers,
        encoder_attention_heads=arch.attention_heads,
        decoder_attention_heads=arch.attention_heads,
        encoder_ffn_dim=arch.ffn_dim,
        decoder_ffn_dim=arch.ffn_dim,
        max_source_positions=1500,
        max_target_positions=448,
        attn_implementation="sdpa",  # type: ignore[call-arg]  # a PretrainedConfig keyword
    )


def synthetic_model(size: str, dtype: torch.dtype, device: str, donor_snapshot: str) -> Any:
    """A randomly initialised Whisper of ``size``'s architecture, built on ``device``."""
    import torch
    from transformers import GenerationConfig, WhisperForConditionalGeneration

    torch.manual_seed(0)
    with torch.device(device):
        model: Any = WhisperForConditionalGeneration(synthetic_config(size))
    model = model.to(dtype).eval()
    model.generation_config = GenerationConfig.from_pretrained(donor_snapshot)
    model.config.name_or_path = synthetic_label(size)
    return model
