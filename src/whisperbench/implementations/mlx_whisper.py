"""mlx-whisper: Apple's MLX port of openai-whisper, on Metal on Apple Silicon and on MLX's CPU
backend elsewhere (here: Linux x86-64, where it is slow; see ``mlx_runtime``).

It reads an MLX model folder (``config.json`` + ``weights.npz``, converted from the
transformers snapshot), loads it through mlx-whisper's own loader and model cache, casts the
weights to the dtype it runs in (float16 on Metal, float32 on the CPU), and transcribes with
``mlx_whisper.transcribe``: openai-whisper's sequential seek, one window at a time, with the
comparable settings of ``openai_style``. Greedy only: MLX's decoder has no beam search.

``MLXWhisper`` is also the base of the other MLX engines (``lightning_whisper_mlx``,
``whisper_mps``), which differ in the library they call: ``library`` names its transcribe
module, ``_load_model`` and ``_run`` are the two calls into it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from whisperbench.devices import DeviceMemoryMeter, device_among
from whisperbench.implementations.base import (
    ImplementationOptions,
    ModelInfo,
    TranscriptionResult,
    WhisperImplementation,
)
from whisperbench.implementations.mlx_runtime import (
    CPU_THREADS_NOTE,
    MLX_DEVICES,
    cast_parameters,
    mlx_dtype,
    mlx_memory_meter,
    mlx_missing,
    parameter_dtype,
    quantization_of,
    refuse_beam_search,
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
from whisperbench.implementations.reported import (
    decoded_language,
    ignored_options,
    weights_params,
)

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
    packages = ("mlx-whisper", "mlx")
    extra = "mlx-whisper"
    supported_devices = MLX_DEVICES
    default_devices = ("mps",)
    """By default on Metal only: MLX's CPU backend is 15-25x slower than the other engines on
    a CPU (on Linux it links the reference BLAS); named, it runs on the CPU too."""
    library: ClassVar[str] = "mlx_whisper.transcribe"
    """The module with the library's ``transcribe`` loop and ``ModelHolder`` model cache."""
    ignored: ClassVar[dict[str, str]] = IGNORED
    long_form: ClassVar[str] = SEQUENTIAL_SEEK

    model: Any = None
    path: str = ""
    dtype: str = "float32"
    dtype_note: str | None = None
    mlx_device: str = ""
    detected_language: str | None = None
    """The language the last call decoded in (``reported.decoded_language``)."""
    batch_size: int = 1
    chunk_length_s: int = CHUNK_LENGTH_S

    def __init__(self, options: ImplementationOptions | None = None) -> None:
        options = options or ImplementationOptions()
        refuse_beam_search(self.name, options)
        super().__init__(options)

    @classmethod
    def device_request(cls, requested: str) -> str:
        """``auto``: Metal on a Mac, else the CPU (never CUDA)."""
        return device_among(requested, cls.supported_devices)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return mlx_missing(cls.library.partition(".")[0], cls.install_hint)

    def _module(self) -> ModuleType:
        return importlib.import_module(self.library)

    def _load(self, info: ModelInfo, snapshot: Path) -> None:
        self.mlx_device = use_device(self.device)
        self.dtype, self.dtype_note = mlx_dtype(self.device, self.options.dtype)
        self.path = str(snapshot)
        self.model = self._load_model(snapshot)
        cast_parameters(self.model, self.dtype)

    def _load_model(self, snapshot: Path) -> Any:
        """Through the library's own cache, where ``transcribe`` finds it under the same path."""
        import mlx.core as mx

        return self._module().ModelHolder.get_model(str(snapshot), getattr(mx, self.dtype))

    def _run(self, audio: np.ndarray, kwargs: dict[str, Any]) -> dict[str, Any]:
        output: dict[str, Any] = self._module().transcribe(
            audio, path_or_hf_repo=self.path, **kwargs
        )
        return output

    def transcribe(self, audio: np.ndarray) -> TranscriptionResult:
        info = self.require_loaded()
        kwargs = transcribe_kwargs(info, self.options)
        result = result_of(self._run(audio, {**kwargs, "fp16": self.dtype == "float16"}))
        self.detected_language = decoded_language([result])
        return result

    def memory_meter(self) -> DeviceMemoryMeter:
        """MLX's allocator on the Apple GPU (the device MLX reported at load; before it, the
        one ``use_device`` will choose), nothing on its CPU backend."""
        loaded_on = getattr(self, "mlx_device", None)
        return mlx_memory_meter(loaded_on or ("gpu" if self.device == "mps" else "cpu"))

    def get_params(self) -> dict[str, Any]:
        info = self.require_loaded()
        return {
            **weights_params(self, info),
            "device": "mps" if self.mlx_device == "gpu" else "cpu",
            "mlx_device": self.mlx_device,
            "dtype": parameter_dtype(self.model),
            "dtype_note": self.dtype_note,
            "attention": "mlx",
            "quantization": quantization_of(self.model),
            "batch_size": self.batch_size,
            "chunk_length_s": self.chunk_length_s,
            "long_form": self.long_form,
            **decode_settings(info, self.options),
            "threads": None,
            "threads_note": CPU_THREADS_NOTE if self.mlx_device == "cpu" else None,
            "language": self.detected_language or language_of(info, self.options),
            "vad": False,
            **ignored_options(self.name, self.options, self.ignored),
        }

    def cleanup(self) -> None:
        holder = self._module().ModelHolder if self.model is not None else None
        if holder is not None and holder.model is self.model:
            holder.model = None
        self.model = None
        super().cleanup()
