"""transformers snapshot -> MLX Whisper model folder (``mlx_whisper``'s layout).

``write_mlx_model(source, out)`` writes ``out/config.json`` (openai-whisper's dimensions plus
``model_type``) and ``out/weights.npz``, the files ``mlx_whisper.load_models.load_model`` reads
(as the ``mlx-community/whisper-*-mlx`` repositories hold them). From openai-whisper's names
(``openai_layout``), MLX differs in three ways:

- the MLP layers are ``mlp1`` and ``mlp2`` rather than ``mlp.0`` and ``mlp.2``;
- there is no ``encoder.positional_embedding``: MLX computes the same sinusoids itself;
- conv weights are (out, kernel, in) rather than PyTorch's (out, in, kernel).

The weights keep the snapshot's float32; the engine casts them to the dtype it runs in.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from whisperbench.weights.convert import Conversion, openai_layout
from whisperbench.weights.convert.openai_layout import read_openai_model
from whisperbench.weights.formats import MLX_CONFIG, MLX_WEIGHTS

__all__ = ["CONVERSION", "mlx_name", "write_mlx_model"]

_COMPUTED = "encoder.positional_embedding"
_CONV_WEIGHTS = ("encoder.conv1.weight", "encoder.conv2.weight")


def mlx_name(openai_name: str) -> str | None:
    """MLX Whisper's name for an openai-whisper tensor; None for the one MLX computes."""
    if openai_name == _COMPUTED:
        return None
    return openai_name.replace(".mlp.0.", ".mlp1.").replace(".mlp.2.", ".mlp2.")


def write_mlx_model(source: Path, out: Path) -> None:
    """Create the folder ``out`` holding ``config.json`` and ``weights.npz``, converted from the
    transformers snapshot folder ``source``."""
    model = read_openai_model(source)
    arrays: dict[str, np.ndarray] = {}
    for name, tensor in model.state_dict.items():
        new_name = mlx_name(name)
        if new_name is None:
            continue
        array = tensor.float().numpy()
        if name in _CONV_WEIGHTS:
            array = np.ascontiguousarray(array.transpose(0, 2, 1))
        arrays[new_name] = array
    out.mkdir(parents=True)
    (out / MLX_CONFIG).write_text(json.dumps({**model.dims, "model_type": "whisper"}, indent=1))
    np.savez(out / MLX_WEIGHTS, **arrays)  # type: ignore[arg-type]


CONVERSION = Conversion("transformers", "mlx", write_mlx_model, uses=(openai_layout.__name__,))
