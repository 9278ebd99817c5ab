"""The transformers -> openai-whisper name and dimension mapping that the openai, ggml and MLX
converters share, held against both libraries' own models (small random configs: no weights)."""

from __future__ import annotations

import pytest
from transformers import WhisperConfig, WhisperForConditionalGeneration

from whisperbench.errors import ModelImportError
from whisperbench.weights.convert.openai_layout import openai_dims, openai_name

SMALL = {
    "d_model": 16,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 64,
    "num_mel_bins": 80,
    "vocab_size": 51864,
    "max_source_positions": 1500,
    "max_target_positions": 448,
}


@pytest.fixture(scope="module")
def transformers_names() -> list[str]:
    model = WhisperForConditionalGeneration(WhisperConfig(**SMALL))
    return list(model.state_dict())


def test_dims_follow_the_config() -> None:
    dims = openai_dims(SMALL)
    assert dims == {
        "n_mels": 80,
        "n_audio_ctx": 1500,
        "n_audio_state": 16,
        "n_audio_head": 2,
        "n_audio_layer": 2,
        "n_vocab": 51864,
        "n_text_ctx": 448,
        "n_text_state": 16,
        "n_text_head": 2,
        "n_text_layer": 2,
    }
    with pytest.raises(ModelImportError, match="max_target_positions"):
        openai_dims({key: value for key, value in SMALL.items() if key != "max_target_positions"})


def test_every_tensor_gets_openai_whispers_name(transformers_names: list[str]) -> None:
    whisper_model = pytest.importorskip("whisper.model", reason="openai-whisper not installed")
    reference = whisper_model.Whisper(whisper_model.ModelDimensions(**openai_dims(SMALL)))
    mapped = {openai_name(name) for name in transformers_names} - {None}
    assert mapped == set(reference.state_dict())
    assert openai_name("proj_out.weight") is None  # tied to the token embedding


def test_mlx_names_are_mlx_whispers(transformers_names: list[str]) -> None:
    pytest.importorskip("mlx_whisper", reason="mlx-whisper not installed")
    from mlx.utils import tree_flatten
    from mlx_whisper.whisper import ModelDimensions, Whisper

    from whisperbench.weights.convert.hf_to_mlx import mlx_name

    reference = Whisper(ModelDimensions(**openai_dims(SMALL)))
    # ``alignment_heads`` (word timing) is set by the library, not read from the weights.
    expected = {name for name, _ in tree_flatten(reference.parameters())} - {"alignment_heads"}
    mapped = {openai_name(name) for name in transformers_names} - {None}
    assert {mlx_name(name) for name in mapped} - {None} == expected


def test_an_unknown_tensor_is_an_error() -> None:
    with pytest.raises(ModelImportError, match=r"model\.encoder\.adapter\.weight"):
        openai_name("model.encoder.adapter.weight")
    with pytest.raises(ModelImportError, match="unexpected tensor"):
        openai_name("model.decoder.layers.0.self_attn.rotary.weight")


@pytest.mark.parametrize("target", ["openai", "ggml", "mlx"])
def test_a_changed_mapping_converts_again(target: str) -> None:
    import dataclasses

    from whisperbench.weights.convert import load_conversion

    conversion = load_conversion(f"whisperbench.weights.convert.hf_to_{target}")
    assert (conversion.source_format, conversion.target_format) == ("transformers", target)
    assert conversion.uses == ("whisperbench.weights.convert.openai_layout",)
    assert conversion.digest() != dataclasses.replace(conversion, uses=()).digest()
