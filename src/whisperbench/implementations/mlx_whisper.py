"""mlx-whisper: Apple's MLX port of openai-whisper, on Metal on Apple Silicon and on MLX's CPU
backend elsewhere (here: Linux x86-64, where it is slow; see ``mlx_runtime``).

It reads an MLX model folder (``config.json`` + ``weights.npz``, converted from the
transformers snapshot), loads it through mlx-whisper's own loader and model cache, casts the
weights to the dtype it runs in (float16 on Metal, float32 on the CPU), and transcribes with
``mlx_whisper.transcribe``: openai-whisper's sequential seek, one window at a time, with the
comparable settings of ``openai_style``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from whisperbench.devices import device_among
from whisperbench.implementations.base import (
    ImplementationOptions,
    ModelInfo,
    TranscriptionResult,
    WhisperImplementation,
)
from whisperbench.implementations.ignored import ignored_options
from whisperbench.implementations.mlx_runtime import (
    CPU_THREADS_NOTE,
    MLX_DEVICES,
    cast_parameters,
    mlx_dtype,
    mlx_missing,
    parameter_dtype,
    use_device,
)
from whisperbench.implementations.openai_style import (
    CHUNK_LENGTH_S,
    SEQUENTIAL_SEEK,
    decode_settings,
    language_of,
    result_of,
    transcribe_kwargs,
)

INSTALL_HINT = "pip install 'whisperbench[mlx-whisper]'  (or: pip install mlx-whisper)"
IGNORED = {
    "batch_size": "it decodes one window at a time",
    "quantization": "it would need a quantised MLX model",
    "vad": "it has no voice-activity filter",
}


class MLXWhisper(WhisperImplementation):
    """``mlx_whisper.transcribe`` on a model folder in MLX's layout."""

    name = "mlx-whisper"
    weights_format = "mlx"
    package = "mlx-whisper"
    supported_devices = MLX_DEVICES

    model: Any = None
    path: str = ""
    dtype: str = "float32"
    dtype_note: str | None = None
    mlx_device: str = ""
    batch_size: int = 1
    chunk_length_s: int = CHUNK_LENGTH_S

    def __init__(self, options: ImplementationOptions | None = None) -> None:
        options = options or ImplementationOptions()
        device = device_among(options.device, self.supported_devices)
        super().__init__(dataclasses.replace(options, device=device))

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return mlx_missing("mlx_whisper", INSTALL_HINT)

    def _load(self, info: ModelInfo, snapshot: Path) -> None:
        import mlx.core as mx
        from mlx_whisper.transcribe import ModelHolder

        self.mlx_device = use_device(self.device)
        self.dtype, self.dtype_note = mlx_dtype(self.device, self.options.dtype)
        self.path = str(snapshot)
        # mlx-whisper's own cache: transcribe() finds this model under the same path.
        self.model = ModelHolder.get_model(self.path, getattr(mx, self.dtype))
        cast_parameters(self.model, self.dtype)

    def transcribe(self, audio: np.ndarray) -> TranscriptionResult:
        info = self.require_loaded()
        import mlx_whisper

        output = mlx_whisper.transcribe(
            audio,
            path_or_hf_repo=self.path,
            fp16=self.dtype == "float16",
            **transcribe_kwargs(info, self.options),
        )
        return result_of(output)

    def get_params(self) -> dict[str, Any]:
        info = self.require_loaded()
        return {
            "implementation": self.name,
            "model": info.size,
            "repo_id": info.repo_id,
            "weights": "real",
            "weights_format": f"MLX (converted from {info.repo_id})",
            "device": "mps" if self.mlx_device == "gpu" else "cpu",
            "mlx_device": self.mlx_device,
            "dtype": parameter_dtype(self.model),
            "dtype_note": self.dtype_note,
            "attention": "mlx",
            "quantization": "none",
            "batch_size": self.batch_size,
            "chunk_length_s": self.chunk_length_s,
            "long_form": SEQUENTIAL_SEEK,
            **decode_settings(info, self.options),
            "threads": None,
            "threads_note": CPU_THREADS_NOTE if self.mlx_device == "cpu" else None,
            "language": language_of(info, self.options),
            "vad": False,
            **ignored_options(self.name, self.options, IGNORED),
        }

    def cleanup(self) -> None:
        from mlx_whisper.transcribe import ModelHolder

        if ModelHolder.model is self.model:
            ModelHolder.model = None
            ModelHolder.model_path = None
        self.model = None
        super().cleanup()
