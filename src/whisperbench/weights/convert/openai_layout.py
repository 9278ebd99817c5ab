"""A transformers Whisper snapshot read as openai-whisper's model: its dimensions and its
tensors under openai-whisper's names (``whisper/model.py``). The openai, MLX and ggml
converters all start from here; only their files differ.

The names follow ``FACTS.md``: the leading ``model.`` goes, ``proj_out`` goes (it is tied to
the token embedding), ``layers`` become ``blocks``, and each layer's modules take openai's
names. A tensor this table does not know is an error, never silently dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from whisperbench.errors import ModelImportError

__all__ = ["OpenAIModel", "openai_dims", "openai_name", "read_openai_model"]

_DIMS_FROM_CONFIG = {
    "n_mels": "num_mel_bins",
    "n_audio_ctx": "max_source_positions",
    "n_audio_state": "d_model",
    "n_audio_head": "encoder_attention_heads",
    "n_audio_layer": "encoder_layers",
    "n_vocab": "vocab_size",
    "n_text_ctx": "max_target_positions",
    "n_text_state": "d_model",
    "n_text_head": "decoder_attention_heads",
    "n_text_layer": "decoder_layers",
}
_TOP_LEVEL = {
    "encoder.embed_positions.weight": "encoder.positional_embedding",
    "decoder.embed_positions.weight": "decoder.positional_embedding",
    "decoder.embed_tokens.weight": "decoder.token_embedding.weight",
    "encoder.layer_norm.weight": "encoder.ln_post.weight",
    "encoder.layer_norm.bias": "encoder.ln_post.bias",
    "decoder.layer_norm.weight": "decoder.ln.weight",
    "decoder.layer_norm.bias": "decoder.ln.bias",
    "encoder.conv1.weight": "encoder.conv1.weight",
    "encoder.conv1.bias": "encoder.conv1.bias",
    "encoder.conv2.weight": "encoder.conv2.weight",
    "encoder.conv2.bias": "encoder.conv2.bias",
}
_LAYER_MODULES = {
    "self_attn.q_proj": "attn.query",
    "self_attn.k_proj": "attn.key",
    "self_attn.v_proj": "attn.value",
    "self_attn.out_proj": "attn.out",
    "self_attn_layer_norm": "attn_ln",
    "encoder_attn.q_proj": "cross_attn.query",
    "encoder_attn.k_proj": "cross_attn.key",
    "encoder_attn.v_proj": "cross_attn.value",
    "encoder_attn.out_proj": "cross_attn.out",
    "encoder_attn_layer_norm": "cross_attn_ln",
    "fc1": "mlp.0",
    "fc2": "mlp.2",
    "final_layer_norm": "mlp_ln",
}
_LAYER_KEY = re.compile(r"^(encoder|decoder)\.layers\.(\d+)\.(.+)\.(weight|bias)$")
_TIED = "proj_out.weight"


@dataclass(frozen=True)
class OpenAIModel:
    """openai-whisper's ``dims`` and ``model_state_dict``, plus the snapshot's config."""

    dims: dict[str, int]
    state_dict: dict[str, torch.Tensor]
    config: dict[str, Any]


def openai_dims(config: Mapping[str, Any]) -> dict[str, int]:
    """openai-whisper's ``ModelDimensions`` from a transformers ``config.json``."""
    try:
        return {key: int(config[name]) for key, name in _DIMS_FROM_CONFIG.items()}
    except KeyError as exc:
        raise ModelImportError(
            f"config.json has no {exc.args[0]!r}: is it a transformers Whisper config?"
        ) from None


def openai_name(name: str) -> str | None:
    """openai-whisper's name for the transformers tensor ``name``; None for ``proj_out``,
    which openai-whisper does not store (it is the token embedding)."""
    short = name.removeprefix("model.")
    if short == _TIED:
        return None
    if short in _TOP_LEVEL:
        return _TOP_LEVEL[short]
    match = _LAYER_KEY.match(short)
    if match and match.group(3) in _LAYER_MODULES:
        side, index, module, kind = match.groups()
        return f"{side}.blocks.{index}.{_LAYER_MODULES[module]}.{kind}"
    raise ModelImportError(f"unexpected tensor {name!r} in a transformers Whisper checkpoint")


def _weight_files(source: Path) -> list[Path]:
    index = source / "model.safetensors.index.json"
    if index.is_file():
        weight_map: dict[str, str] = json.loads(index.read_text())["weight_map"]
        return [source / name for name in sorted(set(weight_map.values()))]
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (source / name).is_file():
            return [source / name]
    raise ModelImportError(
        f"{source} holds no model.safetensors, sharded safetensors or pytorch_model.bin"
    )


def _read_tensors(source: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    tensors: dict[str, torch.Tensor] = {}
    for path in _weight_files(source):
        if path.suffix == ".safetensors":
            tensors.update(load_file(path))
        else:
            tensors.update(torch.load(path, map_location="cpu", weights_only=True))
    return tensors


def read_openai_model(source: Path) -> OpenAIModel:
    """The transformers snapshot folder ``source`` as openai-whisper's model (dtypes kept)."""
    config = json.loads((source / "config.json").read_text())
    state_dict: dict[str, torch.Tensor] = {}
    for name, tensor in _read_tensors(source).items():
        new_name = openai_name(name)
        if new_name is not None:
            state_dict[new_name] = tensor.contiguous()
    if "decoder.token_embedding.weight" not in state_dict:
        raise ModelImportError(f"{source}: the checkpoint has no decoder token embedding")
    return OpenAIModel(openai_dims(config), state_dict, config)
