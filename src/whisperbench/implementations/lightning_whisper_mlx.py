"""lightning-whisper-mlx: MLX Whisper with batched decoding of fixed 30 s windows.

It reads the same MLX folder as mlx-whisper (``weights.npz``, converted from the transformers
snapshot) through its own loader and cache, and transcribes with its ``transcribe_audio``:
the audio is cut into 30 s windows back to back (no overlap, not at quiet points), and
``batch_size`` of them are decoded at a time, with timestamps, greedy. Its fallback (one
re-decode at temperature 1 when a window's compression ratio or log-probability is off) is
disabled with the other thresholds. Its ``LightningWhisperMLX`` class downloads its own
``mlx-community`` repos; the engine calls the transcription function on our folder instead.

The package pins ``tiktoken==0.3.3``, which has wheels for Python 3.11 at most and would
downgrade the tokenizer library of openai-whisper and mlx-whisper in a shared environment, so
it is its own extra and not part of ``dev``. It runs with newer tiktoken as well (checked with
0.14): ``pip install --no-deps lightning-whisper-mlx`` keeps the environment's tiktoken.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from whisperbench.implementations.mlx_whisper import MLXWhisper
from whisperbench.weights.formats import MLX_CONFIG, MLX_WEIGHTS

DEFAULT_BATCH_SIZE = 12
"""``LightningWhisperMLX``'s own default."""
FIXED_WINDOWS = "fixed 30 s windows back to back, batched, no overlap"


class LightningWhisperMLX(MLXWhisper):
    """``lightning_whisper_mlx.transcribe.transcribe_audio``, batched."""

    name = "lightning-whisper-mlx"
    takes_batch_size = True
    package = "lightning-whisper-mlx"
    packages = ("lightning-whisper-mlx", "mlx")
    extra = "lightning-whisper-mlx"
    library: ClassVar[str] = "lightning_whisper_mlx.transcribe"
    install_hint: ClassVar[str] = (
        "pip install 'whisperbench[lightning-whisper-mlx]'  (it pins tiktoken==0.3.3; "
        "pip install --no-deps lightning-whisper-mlx keeps a newer tiktoken)"
    )
    ignored: ClassVar[dict[str, str]] = {
        "quantization": "it would need a quantised MLX model",
        "vad": "it has no voice-activity filter",
    }
    long_form: ClassVar[str] = FIXED_WINDOWS

    def _load(self, info: Any, snapshot: Any) -> None:
        super()._load(info, snapshot)
        self.batch_size = self.options.batch_size or DEFAULT_BATCH_SIZE

    def _load_model(self, snapshot: Path) -> Any:
        """Its own loader reads ``weights.npz`` only (ours, and the older mlx-community repos);
        a folder with ``weights.safetensors`` (newer mlx-community repos) gets the same model
        built from its own classes, as its loader builds it, and put in its model cache."""
        if (snapshot / MLX_WEIGHTS).is_file():
            return super()._load_model(snapshot)
        import mlx.core as mx
        from lightning_whisper_mlx import whisper
        from mlx.utils import tree_unflatten

        config = json.loads((snapshot / MLX_CONFIG).read_text())
        config.pop("model_type", None)
        quantization = config.pop("quantization", None)
        model = whisper.Whisper(whisper.ModelDimensions(**config), getattr(mx, self.dtype))
        weights: Any = mx.load(str(snapshot / "weights.safetensors"))
        if quantization is not None:  # as its own loader quantises
            import mlx.nn

            nn: Any = mlx.nn
            nn.QuantizedLinear.quantize_module(model, **quantization)
        model.update(tree_unflatten(list(weights.items())))
        holder = self._module().ModelHolder
        holder.model, holder.model_path = model, self.path
        return model

    def _run(self, audio: np.ndarray, kwargs: dict[str, Any]) -> dict[str, Any]:
        output: dict[str, Any] = self._module().transcribe_audio(
            audio, path_or_hf_repo=self.path, batch_size=self.batch_size, **kwargs
        )
        # Its segments are [start frame, end frame, text] per window (100 frames a second).
        output["segments"] = [
            {"start": start / 100, "end": end / 100, "text": text}
            for start, end, text in output["segments"]
        ]
        return output
